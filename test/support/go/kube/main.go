// The API server's own rules, for tests that must not guess them:
//
//   - warnings: whether the API server keeps a webhook's warning (k8s.io/apimachinery's
//     NewWarningHeader: valid UTF-8, no control characters; a warning it refuses is dropped);
//   - policies: a ValidatingAdmissionPolicy compiled and evaluated the way the API server does
//     (k8s.io/apiserver's CEL environment, match conditions, validations and authorizer), against
//     admission requests given as JSON, with RBAC answered from a table of allowed checks;
//   - mutating: a MutatingAdmissionPolicy applied to pods (mutating.go);
//   - cost: the CEL cost of admission policies for pods, as the API server counts it (cost.go).
//
// Reads one JSON request on stdin, writes one JSON answer on stdout.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utilnet "k8s.io/apimachinery/pkg/util/net"
	"k8s.io/apimachinery/pkg/util/version"
	"k8s.io/apiserver/pkg/admission"
	plugincel "k8s.io/apiserver/pkg/admission/plugin/cel"
	"k8s.io/apiserver/pkg/admission/plugin/policy/validating"
	"k8s.io/apiserver/pkg/admission/plugin/webhook/matchconditions"
	celconfig "k8s.io/apiserver/pkg/apis/cel"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/authorization/authorizer"
	"k8s.io/apiserver/pkg/cel/environment"
)

type request struct {
	Warnings []string `json:"warnings"`
	// The oldest Kubernetes version the policy must compile on, e.g. "1.30".
	CompatibilityVersion string                                             `json:"compatibilityVersion"`
	Policy               *admissionregistrationv1.ValidatingAdmissionPolicy `json:"policy"`
	Cases                []policyCase                                       `json:"cases"`
	Mutating             *mutatingRequest                                   `json:"mutating"`
	Cost                 *costRequest                                       `json:"cost"`
}

type policyCase struct {
	Name      string                      `json:"name"`
	Operation string                      `json:"operation"`
	User      string                      `json:"user"`
	Groups    []string                    `json:"groups"`
	Resource  schema.GroupVersionResource `json:"resource"`
	Kind      schema.GroupVersionKind     `json:"kind"`
	Namespace string                      `json:"namespace"`
	ObjName   string                      `json:"objectName"`
	Object    map[string]interface{}      `json:"object"`
	OldObject map[string]interface{}      `json:"oldObject"`
	// "verb group/resource namespace/name" checks the authorizer allows; everything else is denied.
	Allowed []string `json:"allowed"`
}

type warningAnswer struct {
	Valid bool   `json:"valid"`
	Error string `json:"error,omitempty"`
}

type caseAnswer struct {
	Name string `json:"name"`
	// admit (no condition matched, or every validation passed) or deny.
	Verdict string   `json:"verdict"`
	Matched bool     `json:"matched"`
	Reasons []string `json:"reasons,omitempty"`
}

type answer struct {
	Warnings      []warningAnswer `json:"warnings,omitempty"`
	CompileErrors []string        `json:"compileErrors"`
	Cases         []caseAnswer    `json:"cases"`
	Mutating      *mutatingAnswer `json:"mutating,omitempty"`
	Cost          *costAnswer     `json:"cost,omitempty"`
}

func main() {
	var in request
	if err := json.NewDecoder(os.Stdin).Decode(&in); err != nil {
		fail("bad input: %v", err)
	}
	out := answer{CompileErrors: []string{}, Cases: []caseAnswer{}}
	for _, text := range in.Warnings {
		_, err := utilnet.NewWarningHeader(299, "", text)
		a := warningAnswer{Valid: err == nil}
		if err != nil {
			a.Error = err.Error()
		}
		out.Warnings = append(out.Warnings, a)
	}
	if in.Policy != nil {
		evaluatePolicy(in, &out)
	}
	if in.Mutating != nil {
		answer := evaluateMutating(*in.Mutating)
		out.Mutating = &answer
	}
	if in.Cost != nil {
		answer := evaluateCost(*in.Cost)
		out.Cost = &answer
	}
	if err := json.NewEncoder(os.Stdout).Encode(out); err != nil {
		fail("%v", err)
	}
}

func evaluatePolicy(in request, out *answer) {
	compatibility := version.MustParseGeneric(in.CompatibilityVersion)
	envSet := environment.MustBaseEnvSet(compatibility)
	spec := in.Policy.Spec
	vars := plugincel.OptionalVariableDeclarations{HasParams: spec.ParamKind != nil, HasAuthorizer: true}

	// Every expression must compile as a new expression on the oldest version: that is what the
	// API server of that version checks when the policy is created.
	compiler := plugincel.NewCompiler(envSet)
	check := func(what string, accessor plugincel.ExpressionAccessor) {
		if result := compiler.CompileCELExpression(accessor, vars, environment.NewExpressions); result.Error != nil {
			out.CompileErrors = append(out.CompileErrors, fmt.Sprintf("%s: %v", what, result.Error))
		}
	}
	matchAccessors := make([]plugincel.ExpressionAccessor, len(spec.MatchConditions))
	for i := range spec.MatchConditions {
		matchAccessors[i] = (*matchconditions.MatchCondition)(&spec.MatchConditions[i])
		check("matchCondition "+spec.MatchConditions[i].Name, matchAccessors[i])
	}
	validationAccessors := make([]plugincel.ExpressionAccessor, len(spec.Validations))
	for i, v := range spec.Validations {
		validationAccessors[i] = &validating.ValidationCondition{Expression: v.Expression, Message: v.Message, Reason: v.Reason}
		check(fmt.Sprintf("validation %d", i), validationAccessors[i])
	}
	if len(spec.Variables) > 0 || len(spec.AuditAnnotations) > 0 {
		out.CompileErrors = append(out.CompileErrors, "variables and audit annotations are not evaluated by this program")
	}

	composited, err := plugincel.NewCompositedCompiler(envSet)
	if err != nil {
		fail("%v", err)
	}
	var matcher matchconditions.Matcher
	if len(matchAccessors) > 0 {
		matcher = matchconditions.NewMatcher(composited.CompileCondition(matchAccessors, vars, environment.StoredExpressions), spec.FailurePolicy, "policy", "validate", in.Policy.Name)
	}
	validator := validating.NewValidator(
		composited.CompileCondition(validationAccessors, vars, environment.StoredExpressions),
		matcher,
		composited.CompileCondition(nil, vars, environment.StoredExpressions),
		composited.CompileCondition(make([]plugincel.ExpressionAccessor, len(validationAccessors)), plugincel.OptionalVariableDeclarations{HasParams: vars.HasParams}, environment.StoredExpressions),
		spec.FailurePolicy,
		nil,
	)

	for _, c := range in.Cases {
		attributes := admission.NewAttributesRecord(objectOf(c.Object), objectOf(c.OldObject), c.Kind, c.Namespace, c.ObjName, c.Resource, "",
			admission.Operation(c.Operation), nil, false, &user.DefaultInfo{Name: c.User, Groups: c.Groups})
		versioned := &admission.VersionedAttributes{
			Attributes:         attributes,
			VersionedObject:    admission.NewLazyObject(attributes.GetObject()),
			VersionedOldObject: admission.NewLazyObject(attributes.GetOldObject()),
			VersionedKind:      c.Kind,
		}
		allowed := map[string]bool{}
		for _, a := range c.Allowed {
			allowed[a] = true
		}
		authz := authorizer.AuthorizerFunc(func(_ context.Context, a authorizer.Attributes) (authorizer.Decision, string, error) {
			key := fmt.Sprintf("%s %s/%s %s/%s", a.GetVerb(), a.GetAPIGroup(), a.GetResource(), a.GetNamespace(), a.GetName())
			if allowed[key] {
				return authorizer.DecisionAllow, "", nil
			}
			return authorizer.DecisionNoOpinion, "not in the test's table: " + key, nil
		})
		matched := true
		if matcher != nil {
			result := matcher.Match(context.Background(), versioned, nil, authz)
			if result.Error != nil {
				out.Cases = append(out.Cases, caseAnswer{Name: c.Name, Verdict: "error", Reasons: []string{result.Error.Error()}})
				continue
			}
			matched = result.Matches
		}
		result := validator.Validate(context.Background(), c.Resource, versioned, nil, nil, celconfig.RuntimeCELCostBudget, authz)
		a := caseAnswer{Name: c.Name, Verdict: "admit", Matched: matched}
		for _, d := range result.Decisions {
			if d.Action == validating.ActionDeny {
				a.Verdict = "deny"
				a.Reasons = append(a.Reasons, strings.TrimSpace(fmt.Sprintf("%s %s", d.Evaluation, d.Message)))
			}
		}
		out.Cases = append(out.Cases, a)
	}
}

func objectOf(content map[string]interface{}) runtime.Object {
	if content == nil {
		return nil
	}
	return &unstructured.Unstructured{Object: content}
}

func fail(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, format+"\n", args...)
	os.Exit(2)
}
