import { ApiObject } from 'cdk8s';

/**
 * A transformation of an ApiObject's final rendering (its Kubernetes JSON).
 *
 * cdk8s has no hook on an object's rendering; `SharedMemory` needs one because the pod memory
 * limit is only final when the object is rendered. It replaces the object's `toJson` with one that
 * renders as before and then transforms the result. Other constructs that plan their own JSON
 * patches from the rendered object (the node agent) must read the rendering *before* the
 * transformation, since their patches are applied before it: `renderUntransformed` gives it.
 */
const untransformed = new WeakMap<ApiObject, () => any>();

/** Makes every rendering of `apiObject` pass through `transform`. Transformations stack in call order. */
export function addRenderTransform(apiObject: ApiObject, transform: (json: any) => any): void {
  const render = apiObject.toJson.bind(apiObject);
  if (!untransformed.has(apiObject)) untransformed.set(apiObject, render);
  apiObject.toJson = () => transform(render());
}

/** The object's rendering without any transformation added by `addRenderTransform`. */
export function renderUntransformed(apiObject: ApiObject): any {
  return (untransformed.get(apiObject) ?? apiObject.toJson.bind(apiObject))();
}
