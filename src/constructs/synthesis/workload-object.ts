/**
 * The Kubernetes object behind a construct a user hands in as a workload, whatever built it: an
 * `ApiObject` itself, an L1 object (`KubeDeployment`, from any `cdk8s import` or cdk8s-plus), or a
 * cdk8s-plus workload of any version (its `ApiObject` is its default child). Only what every cdk8s
 * app has is used, so no cdk8s-plus type is needed and none is loaded.
 */
import { ApiObject } from 'cdk8s';
import { IConstruct } from 'constructs';
import { WORKLOAD_KINDS, hasPodTemplate } from '../../core';

/**
 * The workload's `ApiObject`, refused at once unless its kind carries a pod template.
 * @param caller how messages name the call (`share() of SharedMemoryAgent 'agent'`)
 * @throws Error naming the construct and what to pass instead
 */
export function workloadApiObject(workload: IConstruct, caller: string): ApiObject {
  if (workload === null || typeof workload !== 'object' || typeof (workload as { node?: unknown }).node !== 'object') {
    throw new Error(`${caller} needs a construct (a workload), got ${workload === null ? 'null' : typeof workload}`);
  }
  let apiObject: ApiObject;
  try {
    apiObject = ApiObject.of(workload);
  } catch {
    throw new Error(`${caller} needs a construct that renders a Kubernetes workload, but '${workload.node.path}' has no ApiObject `
      + "(neither is one, nor has one as its default child 'Resource'): pass the workload itself, such as a cdk8s-plus Deployment, "
      + 'an L1 KubeDeployment or an ApiObject (for an Include, one of its apiObjects)');
  }
  if (!hasPodTemplate(apiObject.apiVersion, apiObject.kind)) {
    throw new Error(`${caller} needs a workload with a pod template, but '${workload.node.path}' is ${apiObject.apiVersion} ${apiObject.kind}: `
      + `pass a ${WORKLOAD_KINDS.join(', ')} (the built-in kinds)`);
  }
  return apiObject;
}
