"""The cluster-wide ways in from Python: SharedMemoryWebhook and SharedMemoryAdmissionPolicy, given
options of every kind a Python app passes (keywords, a Size, an enum, a static factory), synthesize
exactly what the same program synthesizes in JavaScript, from the compiled library (lib/).
"""
import json

from cdk8s import App, Chart, Size
from cdk8s_shm import PodSelection, PodsWithoutLimit, SharedMemoryAdmissionPolicy, SharedMemoryWebhook

from conftest import run

JAVASCRIPT = """
const { App, Chart, Size } = require('cdk8s');
const shm = require('./lib');
const app = new App();
const webhook = new Chart(app, 'webhook');
new shm.SharedMemoryWebhook(webhook, 'webhook', {
  maximum: Size.gibibytes(16), ratio: 0.25, podsWithoutLimit: shm.PodsWithoutLimit.fixedSize(Size.gibibytes(1)),
});
const policy = new Chart(app, 'policy');
new shm.SharedMemoryAdmissionPolicy(policy, 'policy', { ratio: 0.25, podSelection: shm.PodSelection.OPT_IN });
process.stdout.write(JSON.stringify([webhook.toJson(), policy.toJson()]));
"""


def python_charts():
    app = App()
    webhook = Chart(app, "webhook")
    SharedMemoryWebhook(
        webhook, "webhook",
        maximum=Size.gibibytes(16), ratio=0.25, pods_without_limit=PodsWithoutLimit.fixed_size(Size.gibibytes(1)),
    )
    policy = Chart(app, "policy")
    SharedMemoryAdmissionPolicy(policy, "policy", ratio=0.25, pod_selection=PodSelection.OPT_IN)
    return [webhook.to_json(), policy.to_json()]


def test_the_webhook_and_the_admission_policy_synthesize_as_in_javascript():
    python = python_charts()
    javascript = json.loads(run(["node", "-e", JAVASCRIPT]).stdout)
    kinds = sorted({o["kind"] for chart in python for o in chart})
    assert {"MutatingWebhookConfiguration", "Deployment", "MutatingAdmissionPolicy"} <= set(kinds)
    assert python == javascript
