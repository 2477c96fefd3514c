"""What a Python user meets first, fixed for every language: there is no constructor to call, a
refused add_to can be made again, the options are keyword arguments, and messages name the options
as Python spells them.
"""
import pytest
import cdk8s
from cdk8s import App, Chart, Size
import cdk8s_plus_33 as kplus
from cdk8s_shm import SharedMemory, SharedMemoryAdmissionPolicy, SharedMemoryOptions, SharedMemoryWebhook, WebhookTls, podspec


def deployment(chart: Chart, limit: Size = Size.gibibytes(4)) -> kplus.Deployment:
    return kplus.Deployment(chart, "web", containers=[
        kplus.ContainerProps(name="app", image="example/app:1.0", resources=kplus.ContainerResources(memory=kplus.MemoryResources(limit=limit))),
    ])


def dev_shm(chart: Chart) -> str:
    [workload] = [o for o in cdk8s.Testing.synth(chart) if o["kind"] == "Deployment"]
    [volume] = [v for v in workload["spec"]["template"]["spec"]["volumes"] if v["name"] == "dshm"]
    return volume["emptyDir"]["sizeLimit"]


@pytest.mark.parametrize("args, kwargs", [
    ((), {}),
    (("scope", "shm"), {}),
    (("scope", "shm"), {"ratio": 0.25}),
])
def test_calling_shared_memory_as_a_constructor_says_what_to_call(args, kwargs):
    chart = cdk8s.Testing.chart()
    given = [chart if a == "scope" else a for a in args]
    with pytest.raises(Exception) as raised:
        SharedMemory(*given, **kwargs)
    assert "SharedMemory.addTo() (add_to in Python)" in str(raised.value)
    assert "SharedMemory.applyToChart() (apply_to_chart in Python)" in str(raised.value)
    # Nothing was added: the calls it points to still work.
    SharedMemory.apply_to_chart(chart)


def test_a_refused_add_to_can_be_made_again_with_good_options():
    chart = cdk8s.Testing.chart()
    web = deployment(chart)
    with pytest.raises(Exception, match=r"'size' \(1Gi\) and 'ratio' \(0.3\) cannot both be set"):
        SharedMemory.add_to(web, size=Size.gibibytes(1), ratio=0.3)
    SharedMemory.add_to(web, ratio=0.25)
    assert dev_shm(chart) == "1Gi"


def test_a_second_add_to_is_refused_in_python_s_words():
    chart = cdk8s.Testing.chart()
    web = deployment(chart)
    SharedMemory.add_to(web)
    with pytest.raises(Exception, match=r"SharedMemory\.addTo\(\) \(add_to in Python\) was already called"):
        SharedMemory.add_to(web)


def test_messages_name_an_option_as_python_spells_it():
    chart = cdk8s.Testing.chart()
    with pytest.raises(Exception, match=r"'volumeName' \(volume_name in Python\) \(\"Dev_Shm\"\) must be a DNS-1123 label"):
        SharedMemory.add_to(deployment(chart), volume_name="Dev_Shm")


def test_options_are_keyword_arguments_as_the_docs_say():
    chart = cdk8s.Testing.chart()
    SharedMemory.add_to(deployment(chart), **{"ratio": 0.25, "include_init_containers": False})
    assert dev_shm(chart) == "1Gi"
    # A SharedMemoryOptions object is not taken in their place (jsii lifts the struct into keywords).
    with pytest.raises(TypeError):
        SharedMemory.add_to(deployment(Chart(App(), "other")), SharedMemoryOptions(ratio=0.25))


@pytest.mark.parametrize("build, message", [
    (lambda chart: SharedMemoryWebhook(chart, "webhook", port=9443, metrics_port=9443),
     r"'port' and 'metricsPort' \(metrics_port in Python\) of SharedMemoryWebhook 'webhook' are both 9443"),
    (lambda chart: SharedMemoryWebhook(chart, "webhook", excluded_namespaces=["Not A Namespace"]),
     r"'excludedNamespaces' \(excluded_namespaces in Python\) of SharedMemoryWebhook 'webhook' holds"),
    (lambda chart: SharedMemoryAdmissionPolicy(chart, "policy", limit_follows=True),
     r"'limitFollows' \(limit_follows in Python\) of SharedMemoryAdmissionPolicy 'policy' cannot be true: .* "
     r"SharedMemory\.addTo\(\) \(add_to in Python\)"),
    (lambda chart: WebhookTls.provided(secret_name="webhook-tls", ca_bundle="abc"),
     r"'caBundle' \(ca_bundle in Python\) of WebhookTls\.provided\(\) must be PEM"),
    (lambda chart: podspec.Probe.from_command([]),
     r"Probe\.fromCommand\(\) \(from_command in Python\): give the command as a non-empty list of strings"),
])
def test_the_cluster_wide_ways_in_and_pod_types_name_their_props_as_python_spells_them(build, message):
    with pytest.raises(Exception, match=message):
        build(cdk8s.Testing.chart())
