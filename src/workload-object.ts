import { ApiObject } from 'cdk8s';
import { IConstruct } from 'constructs';
import { WORKLOAD_KINDS, hasPodTemplate } from './core';

/**
 * The Kubernetes object a workload construct renders: the construct itself when it is an
 * `ApiObject` (an L1 `KubeDeployment`, `Include`d YAML), or its default child otherwise (every
 * cdk8s-plus workload, of any version, keeps its object there as `Resource`). Nothing else is
 * asked of the construct, so no version of cdk8s-plus is needed.
 * @param caller what is asking, for messages (`SharedMemory.addTo()`)
 * @throws Error naming the construct when it renders no workload with a pod template
 */
export function workloadObject(workload: IConstruct, caller: string): ApiObject {
  let apiObject: ApiObject;
  try {
    apiObject = ApiObject.of(workload);
  } catch {
    throw new Error(`${caller} needs a construct that renders a Kubernetes workload; '${workload.node.path}' renders no ApiObject `
      + '(pass a cdk8s-plus workload, an L1 object such as KubeDeployment, or an ApiObject)');
  }
  if (!hasPodTemplate(apiObject.apiVersion, apiObject.kind)) {
    throw new Error(`${caller} needs a workload with a pod template; '${workload.node.path}' renders ${apiObject.apiVersion} ${apiObject.kind} `
      + `(one of ${WORKLOAD_KINDS.join(', ')} is needed)`);
  }
  return apiObject;
}
