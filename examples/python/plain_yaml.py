"""A vendor's plain YAML fixed with apply_to_chart: the Python twin of examples/plain-yaml.ts.

apply_to_chart is the synth-time twin of the admission webhook: objects that cannot be sized (no
memory limit, hostIPC) are left as they are and reported.
"""
import os

from cdk8s import App, Chart, Include
from cdk8s_shm import SharedMemory

VENDOR_YAML = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "manifests", "vendor.yaml")


def build(app: App) -> Chart:
    chart = Chart(app, "plain-yaml")
    Include(chart, "vendor", url=VENDOR_YAML)
    SharedMemory.apply_to_chart(chart)
    return chart
