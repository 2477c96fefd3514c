// A MutatingAdmissionPolicy (and a ValidatingAdmissionPolicy beside it) compiled and applied the
// way the API server does, to pods given as JSON (without a policy: the pods only read back as
// the API server stores them):
//
//   - every expression is compiled as a new expression on the oldest version the policy must run
//     on (what the API server checks when the policy is created), and compile errors are reported;
//   - each pod is decoded into the typed core/v1 Pod (so quantities read back canonical, as the
//     API server hands them to CEL), the match conditions run, then the mutations in order, each on
//     the pod the one before made: a JSON patch by k8s.io/apiserver's own JSON patcher, an apply
//     configuration by its own patcher with client-go's type converter of the same release (the API
//     server's reads its OpenAPI); one that fails is skipped, as failurePolicy Ignore does;
//   - the mutations run a second time on their own result (what `reinvocationPolicy: IfNeeded`
//     does when another mutator changed the pod), and the answer says whether that changed it;
//   - the validating policy, if any, judges the mutated pod, with its variables;
//   - a pod given with oldObject is a resize: an UPDATE of pods/resize, the old object as stored.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/version"
	"k8s.io/apiserver/pkg/admission"
	plugincel "k8s.io/apiserver/pkg/admission/plugin/cel"
	"k8s.io/apiserver/pkg/admission/plugin/policy/mutating/patch"
	"k8s.io/apiserver/pkg/admission/plugin/policy/validating"
	"k8s.io/apiserver/pkg/admission/plugin/webhook/matchconditions"
	celconfig "k8s.io/apiserver/pkg/apis/cel"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/authorization/authorizer"
	"k8s.io/apiserver/pkg/cel/environment"
	"k8s.io/client-go/applyconfigurations"
)

type mutatingRequest struct {
	// The oldest Kubernetes version the policies must compile on, e.g. "1.35".
	CompatibilityVersion string                                             `json:"compatibilityVersion"`
	Policy               *admissionregistrationv1.MutatingAdmissionPolicy   `json:"policy"`
	// More MutatingAdmissionPolicies, run after the first in order, each on the pod the ones before made.
	More       []*admissionregistrationv1.MutatingAdmissionPolicy `json:"more"`
	Validating *admissionregistrationv1.ValidatingAdmissionPolicy `json:"validating"`
	Namespace            string                                             `json:"namespace"`
	Pods                 []podCase                                          `json:"pods"`
}

type podCase struct {
	Name   string                 `json:"name"`
	Object map[string]interface{} `json:"object"`
	// With oldObject: an UPDATE of the pods/resize subresource (object: the pod as resized, oldObject: as stored).
	OldObject map[string]interface{} `json:"oldObject,omitempty"`
}

// The admission attributes of a pod's creation, or (with old) of its resize.
func podAttributes(object, old *corev1.Pod, namespace string) admission.Attributes {
	if old == nil {
		return admission.NewAttributesRecord(object, nil, podGVK, namespace, object.Name, podGVR, "", admission.Create,
			&metav1.CreateOptions{}, false, &user.DefaultInfo{Name: "cdk8s-shm-test"})
	}
	return admission.NewAttributesRecord(object, old, podGVK, namespace, object.Name, podGVR, "resize", admission.Update,
		&metav1.UpdateOptions{}, false, &user.DefaultInfo{Name: "cdk8s-shm-test"})
}

type podAnswer struct {
	Name string `json:"name"`
	// The pod as the API server hands it to admission (decoded into core/v1, encoded again).
	Input   map[string]interface{} `json:"input,omitempty"`
	Matched bool                   `json:"matched"`
	// The pod after the mutation (equal to input when nothing changed).
	Output  map[string]interface{} `json:"output,omitempty"`
	Changed bool                   `json:"changed"`
	// A second run of the mutation on its output changed it again.
	ReinvocationChanged bool `json:"reinvocationChanged"`
	// The mutation failed (failurePolicy then decides); the pod is left unchanged.
	Error string `json:"error,omitempty"`
	// The validating policy: admit or deny (and why), or error.
	Verdict string   `json:"verdict,omitempty"`
	Reasons []string `json:"reasons,omitempty"`
}

type mutatingAnswer struct {
	CompileErrors []string    `json:"compileErrors"`
	Pods          []podAnswer `json:"pods"`
}

var (
	podGVR = schema.GroupVersionResource{Version: "v1", Resource: "pods"}
	podGVK = schema.GroupVersionKind{Version: "v1", Kind: "Pod"}
)

func evaluateMutating(in mutatingRequest) mutatingAnswer {
	out := mutatingAnswer{CompileErrors: []string{}, Pods: []podAnswer{}}
	if in.Policy == nil {
		// Only read the pods back as the API server stores them.
		for _, c := range in.Pods {
			answer := podAnswer{Name: c.Name}
			if pod, err := typedPod(c.Object); err != nil {
				answer.Error = err.Error()
			} else {
				pod.Namespace = in.Namespace
				answer.Input = toMap(pod)
			}
			out.Pods = append(out.Pods, answer)
		}
		return out
	}
	compatibility := version.MustParseGeneric(in.CompatibilityVersion)
	envSet := environment.MustBaseEnvSet(compatibility)
	policies := append([]*admissionregistrationv1.MutatingAdmissionPolicy{in.Policy}, in.More...)
	for _, policy := range policies {
		out.CompileErrors = append(out.CompileErrors, checkMutating(envSet, policy)...)
	}
	validator, validatorErrors := compileValidating(in.Validating, envSet)
	out.CompileErrors = append(out.CompileErrors, validatorErrors...)
	if len(out.CompileErrors) > 0 {
		return out
	}
	compiled := make([]compiledMutating, len(policies))
	for i, policy := range policies {
		compiled[i] = compileMutating(envSet, policy)
	}

	scheme := runtime.NewScheme()
	if err := corev1.AddToScheme(scheme); err != nil {
		fail("%v", err)
	}
	// The API server's type converter reads its OpenAPI; client-go's schema of the same release has the same types.
	typeConverter := applyconfigurations.NewTypeConverter(scheme)
	interfaces := admission.NewObjectInterfacesFromScheme(scheme)
	namespace := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: in.Namespace, Labels: map[string]string{"kubernetes.io/metadata.name": in.Namespace}}}
	authz := authorizer.AuthorizerFunc(func(context.Context, authorizer.Attributes) (authorizer.Decision, string, error) {
		return authorizer.DecisionNoOpinion, "", nil
	})

	for _, c := range in.Pods {
		answer := podAnswer{Name: c.Name}
		pod, err := typedPod(c.Object)
		if err != nil {
			answer.Error = err.Error()
			out.Pods = append(out.Pods, answer)
			continue
		}
		pod.Namespace = in.Namespace
		answer.Input = toMap(pod)
		var old *corev1.Pod
		if c.OldObject != nil {
			if old, err = typedPod(c.OldObject); err != nil {
				answer.Error = "oldObject: " + err.Error()
				out.Pods = append(out.Pods, answer)
				continue
			}
			old.Namespace = in.Namespace
		}
		mutate := func(object *corev1.Pod) (*corev1.Pod, bool, error) {
			attributes := podAttributes(object, old, in.Namespace)
			versioned := &admission.VersionedAttributes{Attributes: attributes, VersionedObject: admission.NewLazyObject(object), VersionedKind: podGVK}
			if old != nil {
				versioned.VersionedOldObject = admission.NewLazyObject(old)
			}
			// The policies in order; within each, the mutations in order, each on the pod the one before
			// made. One that fails is skipped (failurePolicy Ignore), as the API server's dispatcher
			// does, and the first error is reported. matched: whether the first policy matched.
			var firstErr error
			matched := false
			for i, policy := range compiled {
				ctx := policy.compiler.CreateContext(context.Background())
				if policy.matcher != nil {
					result := policy.matcher.Match(ctx, versioned, nil, authz)
					if result.Error != nil {
						if i == 0 {
							return object, false, fmt.Errorf("match conditions: %w", result.Error)
						}
						firstErr = firstError(firstErr, fmt.Errorf("match conditions of %s: %w", policies[i].Name, result.Error))
						continue
					}
					if !result.Matches {
						continue
					}
				}
				matched = matched || i == 0
				for _, patcher := range policy.patchers {
					patched, err := patcher.Patch(ctx, patch.Request{
						MatchedResource:     podGVR,
						VersionedAttributes: versioned,
						ObjectInterfaces:    interfaces,
						OptionalVariables:   plugincel.OptionalVariableBindings{Authorizer: authz},
						Namespace:           namespace,
						TypeConverter:       typeConverter,
					}, celconfig.RuntimeCELCostBudget)
					if err == nil {
						patched, err = typedResult(patched)
					}
					if err != nil {
						firstErr = firstError(firstErr, err)
						continue
					}
					object = patched.(*corev1.Pod)
					versioned.UpdateObject(object)
				}
			}
			return object, matched, firstErr
		}
		output, matched, err := mutate(pod)
		answer.Matched = matched
		if err != nil {
			answer.Error = err.Error()
		}
		answer.Output = toMap(output)
		answer.Changed = !apiequality.Semantic.DeepEqual(pod, output)
		if err == nil && matched {
			again, _, err := mutate(output.DeepCopy())
			if err != nil {
				answer.Error = "reinvocation: " + err.Error()
			}
			answer.ReinvocationChanged = !apiequality.Semantic.DeepEqual(output, again)
		}
		if validator != nil {
			answer.Verdict, answer.Reasons = validate(validator, output, old, in.Namespace, namespace, authz)
		}
		out.Pods = append(out.Pods, answer)
	}
	return out
}

func compileValidating(policy *admissionregistrationv1.ValidatingAdmissionPolicy, envSet *environment.EnvSet) (validating.Validator, []string) {
	if policy == nil {
		return nil, nil
	}
	spec := policy.Spec
	vars := plugincel.OptionalVariableDeclarations{HasParams: spec.ParamKind != nil, HasAuthorizer: true}
	messageVars := plugincel.OptionalVariableDeclarations{HasParams: spec.ParamKind != nil}
	validations := make([]plugincel.ExpressionAccessor, len(spec.Validations))
	messages := make([]plugincel.ExpressionAccessor, len(spec.Validations))
	for i, v := range spec.Validations {
		validations[i] = &validating.ValidationCondition{Expression: v.Expression, Message: v.Message, Reason: v.Reason}
		if v.MessageExpression != "" {
			messages[i] = &validating.MessageExpressionCondition{MessageExpression: v.MessageExpression}
		}
	}

	checker, errors := checkNew(envSet, spec.Variables, spec.MatchConditions, vars, "validating ")
	for i, accessor := range validations {
		if result := checker.Compiler.CompileCELExpression(accessor, vars, environment.NewExpressions); result.Error != nil {
			errors = append(errors, fmt.Sprintf("validation %d: %v", i, result.Error))
		}
		if messages[i] != nil {
			if result := checker.Compiler.CompileCELExpression(messages[i], messageVars, environment.NewExpressions); result.Error != nil {
				errors = append(errors, fmt.Sprintf("messageExpression %d: %v", i, result.Error))
			}
		}
	}
	if len(errors) > 0 {
		return nil, errors
	}

	compiler, matcher := compileStored(envSet, spec.Variables, spec.MatchConditions, vars, spec.FailurePolicy, policy.Name)
	return validating.NewValidator(
		compiler.CompileCondition(validations, vars, environment.StoredExpressions),
		matcher,
		compiler.CompileCondition(nil, vars, environment.StoredExpressions),
		compiler.CompileCondition(messages, messageVars, environment.StoredExpressions),
		spec.FailurePolicy,
		nil,
	), nil
}

// The variables and match conditions of a policy compiled as new expressions (what creating the
// policy checks); returns the compiler holding the variables, and the errors.
func checkNew(envSet *environment.EnvSet, variables []admissionregistrationv1.Variable, conditions []admissionregistrationv1.MatchCondition,
	vars plugincel.OptionalVariableDeclarations, what string) (*plugincel.CompositedCompiler, []string) {
	checker, err := plugincel.NewCompositedCompiler(envSet)
	if err != nil {
		fail("%v", err)
	}
	var errors []string
	for _, v := range variableAccessors(variables) {
		if result := checker.CompileAndStoreVariable(v, vars, environment.NewExpressions); result.Error != nil {
			errors = append(errors, fmt.Sprintf("%svariable %s: %v", what, v.GetName(), result.Error))
		}
	}
	for i, accessor := range matchAccessors(conditions) {
		if result := checker.Compiler.CompileCELExpression(accessor, vars, environment.NewExpressions); result.Error != nil {
			errors = append(errors, fmt.Sprintf("%smatchCondition %s: %v", what, conditions[i].Name, result.Error))
		}
	}
	return checker, errors
}

// The variables and match conditions of a policy as the API server runs them (stored expressions).
func compileStored(envSet *environment.EnvSet, variables []admissionregistrationv1.Variable, conditions []admissionregistrationv1.MatchCondition,
	vars plugincel.OptionalVariableDeclarations, failurePolicy *admissionregistrationv1.FailurePolicyType, name string) (*plugincel.CompositedCompiler, matchconditions.Matcher) {
	compiler, err := plugincel.NewCompositedCompiler(envSet)
	if err != nil {
		fail("%v", err)
	}
	compiler.CompileAndStoreVariables(variableAccessors(variables), vars, environment.StoredExpressions)
	var matcher matchconditions.Matcher
	if accessors := matchAccessors(conditions); len(accessors) > 0 {
		matcher = matchconditions.NewMatcher(compiler.CompileCondition(accessors, vars, environment.StoredExpressions), failurePolicy, "policy", "validate", name)
	}
	return compiler, matcher
}

func variableAccessors(variables []admissionregistrationv1.Variable) []plugincel.NamedExpressionAccessor {
	accessors := make([]plugincel.NamedExpressionAccessor, len(variables))
	for i, v := range variables {
		accessors[i] = &validating.Variable{Name: v.Name, Expression: v.Expression}
	}
	return accessors
}

func matchAccessors(conditions []admissionregistrationv1.MatchCondition) []plugincel.ExpressionAccessor {
	accessors := make([]plugincel.ExpressionAccessor, len(conditions))
	for i := range conditions {
		accessors[i] = (*matchconditions.MatchCondition)(&conditions[i])
	}
	return accessors
}

func validate(validator validating.Validator, pod, old *corev1.Pod, namespaceName string, namespace *corev1.Namespace, authz authorizer.Authorizer) (string, []string) {
	versioned := &admission.VersionedAttributes{Attributes: podAttributes(pod, old, namespaceName), VersionedObject: admission.NewLazyObject(pod), VersionedKind: podGVK}
	if old != nil {
		versioned.VersionedOldObject = admission.NewLazyObject(old)
	}
	result := validator.Validate(context.Background(), podGVR, versioned, nil, namespace, celconfig.RuntimeCELCostBudget, authz)
	verdict := "admit"
	var reasons []string
	for _, d := range result.Decisions {
		switch {
		case d.Evaluation == validating.EvalError:
			verdict = "error"
			reasons = append(reasons, d.Message)
		case d.Action == validating.ActionDeny:
			verdict = "deny"
			reasons = append(reasons, strings.TrimSpace(d.Message))
		}
	}
	return verdict, reasons
}

// The pod as the API server decodes it: unknown fields dropped, quantities parsed.
func typedPod(object map[string]interface{}) (*corev1.Pod, error) {
	data, err := json.Marshal(object)
	if err != nil {
		return nil, err
	}
	pod := &corev1.Pod{}
	if err := json.Unmarshal(data, pod); err != nil {
		return nil, fmt.Errorf("not a pod: %w", err)
	}
	pod.APIVersion, pod.Kind = "v1", "Pod"
	return pod, nil
}

func toMap(pod *corev1.Pod) map[string]interface{} {
	content, err := runtime.DefaultUnstructuredConverter.ToUnstructured(pod)
	if err != nil {
		fail("%v", err)
	}
	return content
}

// The expression of each mutation, in order: a JSON patch or an apply configuration.
func mutationAccessors(mutations []admissionregistrationv1.Mutation) []plugincel.ExpressionAccessor {
	if len(mutations) == 0 {
		fail("the policy has no mutation")
	}
	accessors := make([]plugincel.ExpressionAccessor, len(mutations))
	for i, m := range mutations {
		switch {
		case m.JSONPatch != nil:
			accessors[i] = &patch.JSONPatchCondition{Expression: m.JSONPatch.Expression}
		case m.ApplyConfiguration != nil:
			accessors[i] = &patch.ApplyConfigurationCondition{Expression: m.ApplyConfiguration.Expression}
		default:
			fail("mutation %d is neither a JSON patch nor an apply configuration", i)
		}
	}
	return accessors
}

// A patcher's result as the typed pod the dispatcher converts it to (an apply configuration's is unstructured).
func typedResult(object runtime.Object) (runtime.Object, error) {
	u, ok := object.(*unstructured.Unstructured)
	if !ok {
		return object, nil
	}
	pod := &corev1.Pod{}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, pod); err != nil {
		return nil, err
	}
	return pod, nil
}

// A MutatingAdmissionPolicy as the API server runs it: its stored expressions (compilePolicy in the
// mutating plugin).
type compiledMutating struct {
	compiler *plugincel.CompositedCompiler
	matcher  matchconditions.Matcher
	patchers []patch.Patcher
}

// What the API server checks when the policy is created: every expression compiles as a new one.
func checkMutating(envSet *environment.EnvSet, policy *admissionregistrationv1.MutatingAdmissionPolicy) []string {
	spec := policy.Spec
	vars := plugincel.OptionalVariableDeclarations{HasParams: spec.ParamKind != nil, HasAuthorizer: true}
	patchVars := vars
	patchVars.HasPatchTypes = true
	prefix := ""
	if policy.Name != "" {
		prefix = policy.Name + ": "
	}
	checker, errors := checkNew(envSet, spec.Variables, spec.MatchConditions, vars, prefix)
	for i, accessor := range mutationAccessors(spec.Mutations) {
		if result := checker.Compiler.CompileCELExpression(accessor, patchVars, environment.NewExpressions); result.Error != nil {
			errors = append(errors, fmt.Sprintf("%smutation %d: %v", prefix, i, result.Error))
		}
	}
	return errors
}

func compileMutating(envSet *environment.EnvSet, policy *admissionregistrationv1.MutatingAdmissionPolicy) compiledMutating {
	spec := policy.Spec
	vars := plugincel.OptionalVariableDeclarations{HasParams: spec.ParamKind != nil, HasAuthorizer: true}
	patchVars := vars
	patchVars.HasPatchTypes = true
	compiler, matcher := compileStored(envSet, spec.Variables, spec.MatchConditions, vars, spec.FailurePolicy, policy.Name)
	accessors := mutationAccessors(spec.Mutations)
	patchers := make([]patch.Patcher, len(accessors))
	for i, accessor := range accessors {
		evaluator := compiler.CompileMutatingEvaluator(accessor, patchVars, environment.StoredExpressions)
		if _, ok := accessor.(*patch.ApplyConfigurationCondition); ok {
			patchers[i] = patch.NewApplyConfigurationPatcher(evaluator)
		} else {
			patchers[i] = patch.NewJSONPatcher(evaluator)
		}
	}
	return compiledMutating{compiler: compiler, matcher: matcher, patchers: patchers}
}

func firstError(first, next error) error {
	if first != nil {
		return first
	}
	return next
}
