"""Selenium Grid Chrome node: the Python twin of examples/selenium-chrome.ts.

Chromium keeps renderer state in /dev/shm and crashes tabs ("Aw, Snap!", "session deleted because of
page crash") at 64 MiB; Selenium's own docs ask for --shm-size=2g, which this gives explicitly.
"""
from cdk8s import App, Chart, Size
import cdk8s_plus_33 as kplus
from cdk8s_shm import SharedMemory


def build(app: App) -> Chart:
    chart = Chart(app, "selenium-chrome", namespace="qa")
    node = kplus.Deployment(
        chart,
        "chrome-node",
        replicas=3,
        containers=[
            kplus.ContainerProps(
                name="chrome",
                image="selenium/node-chrome:4.27.0",
                port_number=5555,
                env_variables={
                    "SE_EVENT_BUS_HOST": kplus.EnvValue.from_value("selenium-hub"),
                    "SE_NODE_MAX_SESSIONS": kplus.EnvValue.from_value("2"),
                },
                resources=kplus.ContainerResources(
                    cpu=kplus.CpuResources(request=kplus.Cpu.units(1), limit=kplus.Cpu.units(2)),
                    memory=kplus.MemoryResources(request=Size.gibibytes(4), limit=Size.gibibytes(4)),
                ),
                security_context=kplus.ContainerSecurityContextProps(user=1200, group=1201, read_only_root_filesystem=False),
            )
        ],
    )
    SharedMemory.add_to(node, size=Size.gibibytes(2))
    return chart
