/** The policy engine's public surface: what the proxy and the CLI use. */
export {
  loadPolicyEngine,
  policyInvalid,
  type PolicyEngine,
  type PolicyEngineOptions,
  type PolicyStatus,
} from './engine.js';
export {
  compilePolicySet,
  type CompiledRule,
  type CompileResult,
  type PolicySet,
  type PolicySource,
} from './compile.js';
export { loadPolicySet, readPolicySources } from './load.js';
export { evaluateCall, type Evaluation, type Outcome } from './evaluate.js';
export { visibilityOf } from './visibility.js';
export { formatProblem, formatProblems, type Problem } from './problems.js';
export { PolicyLimitsSchema, type PolicyLimits } from './options.js';
export { allowAll, type Decision, type DecisionPoint, type Effect, type ToolVisibility } from './types.js';
