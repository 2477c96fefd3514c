// The CEL cost of admission policies, as the API server counts it, for the pod-creation benchmark:
// for each pod, the cost of each policy's match conditions (budget: 2,500,000 per policy and
// object), of its mutation or validations with the variables they evaluate (budget: 10,000,000
// per call), and of each variable on its own (each expression's limit: 1,000,000).
//
// Everything is compiled and evaluated with k8s.io/apiserver's own code; a cost is what the
// evaluator took from the budget it was given. A variable's own cost is the difference between
// evaluating the variables up to it and those before it (each refers only to earlier ones, and
// they are evaluated lazily, once), so it carries a few units for reading it.
package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	admissionv1 "k8s.io/api/admission/v1"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/version"
	"k8s.io/apiserver/pkg/admission"
	plugincel "k8s.io/apiserver/pkg/admission/plugin/cel"
	"k8s.io/apiserver/pkg/admission/plugin/policy/validating"
	celconfig "k8s.io/apiserver/pkg/apis/cel"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/cel/environment"
)

type costRequest struct {
	CompatibilityVersion string                                              `json:"compatibilityVersion"`
	Mutating             []admissionregistrationv1.MutatingAdmissionPolicy   `json:"mutating"`
	Validating           []admissionregistrationv1.ValidatingAdmissionPolicy `json:"validating"`
	Namespace            string                                              `json:"namespace"`
	Pods                 []podCase                                           `json:"pods"`
	// Also the cost of each variable on its own (quadratic in the number of variables).
	PerVariable bool `json:"perVariable"`
	// Also the time of the match conditions and the call, averaged over this many runs (0: none).
	Iterations int `json:"iterations"`
}

type policyCost struct {
	Policy string `json:"policy"`
	// The match conditions together.
	Match   int64 `json:"match"`
	Matched bool  `json:"matched"`
	// The mutation or the validations, with the variables they evaluated.
	Call      int64            `json:"call"`
	Variables map[string]int64 `json:"variables,omitempty"`
	// Nanoseconds for the match conditions and (when matched) the call, on this machine.
	Nanos float64 `json:"nanos,omitempty"`
	Error string  `json:"error,omitempty"`
}

type podCost struct {
	Name     string       `json:"name"`
	Policies []policyCost `json:"policies"`
}

type costAnswer struct {
	Limits map[string]int64 `json:"limits"`
	Pods   []podCost        `json:"pods"`
}

// A policy compiled as the API server stores it: its variables, its match conditions and its call.
type costPolicy struct {
	name      string
	compiler  *plugincel.CompositedCompiler
	vars      plugincel.OptionalVariableDeclarations
	variables []string
	match     plugincel.ConditionEvaluator
	call      func(ctx context.Context, versioned *admission.VersionedAttributes, namespace *corev1.Namespace) (int64, error)
}

func evaluateCost(in costRequest) costAnswer {
	envSet := environment.MustBaseEnvSet(version.MustParseGeneric(in.CompatibilityVersion))
	var policies []costPolicy
	for _, p := range in.Mutating {
		policies = append(policies, mutatingCost(envSet, p))
	}
	for _, p := range in.Validating {
		policies = append(policies, validatingCost(envSet, p))
	}
	namespace := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: in.Namespace, Labels: map[string]string{"kubernetes.io/metadata.name": in.Namespace}}}
	out := costAnswer{
		Limits: map[string]int64{
			"perExpression":   celconfig.PerCallLimit,
			"perCall":         celconfig.RuntimeCELCostBudget,
			"matchConditions": celconfig.RuntimeCELCostBudgetMatchConditions,
		},
		Pods: []podCost{},
	}
	for _, c := range in.Pods {
		pod, err := typedPod(c.Object)
		if err != nil {
			fail("pod %s: %v", c.Name, err)
		}
		pod.Namespace = in.Namespace
		attributes := admission.NewAttributesRecord(pod, nil, podGVK, in.Namespace, pod.Name, podGVR, "", admission.Create,
			&metav1.CreateOptions{}, false, &user.DefaultInfo{Name: "cdk8s-shm-bench"})
		versioned := &admission.VersionedAttributes{Attributes: attributes, VersionedObject: admission.NewLazyObject(pod), VersionedKind: podGVK}
		answer := podCost{Name: c.Name, Policies: []policyCost{}}
		for _, p := range policies {
			cost := p.costFor(versioned, namespace, in.PerVariable)
			if in.Iterations > 0 {
				started := time.Now()
				for i := 0; i < in.Iterations; i++ {
					p.costFor(versioned, namespace, false)
				}
				cost.Nanos = float64(time.Since(started).Nanoseconds()) / float64(in.Iterations)
			}
			answer.Policies = append(answer.Policies, cost)
		}
		out.Pods = append(out.Pods, answer)
	}
	return out
}

func (p costPolicy) costFor(versioned *admission.VersionedAttributes, namespace *corev1.Namespace, perVariable bool) policyCost {
	answer := policyCost{Policy: p.name, Matched: true}
	ctx := context.Background()
	request := plugincel.CreateAdmissionRequest(versioned.Attributes, metav1.GroupVersionResource(podGVR), metav1.GroupVersionKind(podGVK))
	if p.match != nil {
		budget := int64(celconfig.RuntimeCELCostBudgetMatchConditions)
		results, remaining, err := p.match.ForInput(ctx, versioned, request, plugincel.OptionalVariableBindings{}, namespace, budget)
		if err != nil {
			answer.Error = err.Error()
			return answer
		}
		answer.Match = budget - remaining
		for _, r := range results {
			if r.Error != nil {
				answer.Error = r.Error.Error()
				return answer
			}
			if r.EvalResult.Value() != true {
				answer.Matched = false
			}
		}
	}
	if !answer.Matched {
		return answer
	}
	cost, err := p.call(ctx, versioned, namespace)
	answer.Call = cost
	if err != nil {
		answer.Error = err.Error()
	}
	if perVariable {
		answer.Variables = p.variableCosts(versioned, request, namespace)
	}
	return answer
}

// Each variable's own cost: what reading the first k variables costs, less the first k-1.
func (p costPolicy) variableCosts(versioned *admission.VersionedAttributes, request *admissionv1.AdmissionRequest, namespace *corev1.Namespace) map[string]int64 {
	costs := map[string]int64{}
	previous := int64(0)
	for k := range p.variables {
		terms := make([]string, k+1)
		for i, name := range p.variables[:k+1] {
			terms[i] = fmt.Sprintf("dyn(variables.%s)", name)
		}
		condition := &validating.ValidationCondition{Expression: fmt.Sprintf("[%s].size() > 0", strings.Join(terms, ", "))}
		evaluator := p.compiler.CompileCondition([]plugincel.ExpressionAccessor{condition}, p.vars, environment.StoredExpressions)
		budget := int64(celconfig.RuntimeCELCostBudget)
		_, remaining, err := evaluator.ForInput(context.Background(), versioned, request, plugincel.OptionalVariableBindings{}, namespace, budget)
		if err != nil {
			costs[p.variables[k]] = -1
			continue
		}
		total := budget - remaining
		costs[p.variables[k]] = total - previous
		previous = total
	}
	return costs
}

func compileCostPolicy(envSet *environment.EnvSet, name string, variables []admissionregistrationv1.Variable, conditions []admissionregistrationv1.MatchCondition,
	failurePolicy *admissionregistrationv1.FailurePolicyType) costPolicy {
	vars := plugincel.OptionalVariableDeclarations{HasAuthorizer: true}
	compiler, _ := compileStored(envSet, variables, conditions, vars, failurePolicy, name)
	p := costPolicy{name: name, compiler: compiler, vars: vars}
	for _, v := range variables {
		p.variables = append(p.variables, v.Name)
	}
	if accessors := matchAccessors(conditions); len(accessors) > 0 {
		p.match = compiler.CompileCondition(accessors, vars, environment.StoredExpressions)
	}
	return p
}

func mutatingCost(envSet *environment.EnvSet, policy admissionregistrationv1.MutatingAdmissionPolicy) costPolicy {
	spec := policy.Spec
	p := compileCostPolicy(envSet, policy.Name, spec.Variables, spec.MatchConditions, spec.FailurePolicy)
	patchVars := p.vars
	patchVars.HasPatchTypes = true
	// Each mutation's expression (a JSON patch or an apply configuration), in order, on one budget;
	// the cost is the expressions', not what the patcher does with their result.
	var evaluators []plugincel.MutatingEvaluator
	for _, accessor := range mutationAccessors(spec.Mutations) {
		evaluators = append(evaluators, p.compiler.CompileMutatingEvaluator(accessor, patchVars, environment.StoredExpressions))
	}
	p.call = func(ctx context.Context, versioned *admission.VersionedAttributes, namespace *corev1.Namespace) (int64, error) {
		budget := int64(celconfig.RuntimeCELCostBudget)
		remaining := budget
		request := plugincel.CreateAdmissionRequest(versioned.Attributes, metav1.GroupVersionResource(podGVR), metav1.GroupVersionKind(podGVK))
		for _, evaluator := range evaluators {
			// The mutating evaluator reads the variables of the context it is given (as the patcher's caller makes it).
			result, left, err := evaluator.ForInput(p.compiler.CreateContext(ctx), versioned, request, plugincel.OptionalVariableBindings{}, namespace, remaining)
			if err == nil && result.Error != nil {
				err = result.Error
			}
			remaining = left
			if err != nil {
				return budget - remaining, err
			}
		}
		return budget - remaining, nil
	}
	return p
}

func validatingCost(envSet *environment.EnvSet, policy admissionregistrationv1.ValidatingAdmissionPolicy) costPolicy {
	spec := policy.Spec
	p := compileCostPolicy(envSet, policy.Name, spec.Variables, spec.MatchConditions, spec.FailurePolicy)
	validations := make([]plugincel.ExpressionAccessor, len(spec.Validations))
	for i, v := range spec.Validations {
		validations[i] = &validating.ValidationCondition{Expression: v.Expression, Message: v.Message, Reason: v.Reason}
	}
	evaluator := p.compiler.CompileCondition(validations, p.vars, environment.StoredExpressions)
	p.call = func(ctx context.Context, versioned *admission.VersionedAttributes, namespace *corev1.Namespace) (int64, error) {
		budget := int64(celconfig.RuntimeCELCostBudget)
		request := plugincel.CreateAdmissionRequest(versioned.Attributes, metav1.GroupVersionResource(podGVR), metav1.GroupVersionKind(podGVK))
		results, remaining, err := evaluator.ForInput(ctx, versioned, request, plugincel.OptionalVariableBindings{}, namespace, budget)
		for _, r := range results {
			if err == nil && r.Error != nil {
				err = r.Error
			}
		}
		return budget - remaining, err
	}
	return p
}
