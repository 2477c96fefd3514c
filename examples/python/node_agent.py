"""A node agent and a business Deployment sharing memory across pods: the Python twin of
examples/node-agent.ts.

Platform agents (service routing, security) that used to be baked into every business image run once
per node, and the business process still talks to them through POSIX shared memory in /dev/shm. The
agent's CSI node plugin publishes the domain into the business pods, so their namespace keeps Pod
Security `restricted`.
"""
from cdk8s import ApiObjectMetadata, App, Chart, Size
import cdk8s_plus_33 as kplus
from cdk8s_shm import SharedMemoryAgent, SharedMemoryDomain, podspec


def build(app: App) -> Chart:
    chart = Chart(app, "node-agent")

    # One agent pod per labeled node, with a 512Mi tmpfs domain mounted at /dev/shm.
    agent = SharedMemoryAgent(
        chart,
        "routing-agent",
        domain=SharedMemoryDomain.tmpfs(size=Size.mebibytes(512)),
        containers=[
            podspec.AgentContainer(
                name="agent",
                image="registry.example.com/platform/routing-agent:3.2.1",
                resources=podspec.ContainerResources(
                    cpu=podspec.CpuResources(request=podspec.Cpu.millis(100), limit=podspec.Cpu.millis(500)),
                    memory=podspec.MemoryResources(request=Size.mebibytes(256), limit=Size.mebibytes(256)),
                ),
            )
        ],
    )

    # The business namespace stays at the strictest Pod Security level.
    restricted = {
        "pod-security.kubernetes.io/enforce": "restricted",
        "pod-security.kubernetes.io/warn": "restricted",
        "pod-security.kubernetes.io/audit": "restricted",
    }
    kplus.Namespace(chart, "shop", metadata=ApiObjectMetadata(name="shop", labels=restricted))
    web = kplus.Deployment(
        chart,
        "web",
        metadata=ApiObjectMetadata(namespace="shop"),
        replicas=3,
        containers=[
            kplus.ContainerProps(
                name="web",
                image="registry.example.com/shop/web:5.0.0",
                port_number=8080,
                security_context=kplus.ContainerSecurityContextProps(
                    capabilities=kplus.ContainerSecutiryContextCapabilities(drop=[kplus.Capability.ALL]),
                    seccomp_profile=kplus.SeccompProfile(type=kplus.SeccompProfileType.RUNTIME_DEFAULT),
                ),
                resources=kplus.ContainerResources(
                    memory=kplus.MemoryResources(request=Size.gibibytes(1), limit=Size.gibibytes(1)),
                ),
            )
        ],
    )
    # Mounts the domain at /dev/shm and makes shop's pods (ServiceAccount default) tenants of the plugin.
    agent.share(web)
    return chart
