import { evolutionAgent } from './evolution.ts';
import { noopAgent } from './noop.ts';
import { randomAgent } from './random.ts';
import type { Agent } from './types.ts';

// Built-in research agents: pure and deterministic given their input (seed included).

export const AGENTS = { random: randomAgent, evolution: evolutionAgent, noop: noopAgent } as const;
export type AgentName = keyof typeof AGENTS;
export const AGENT_NAMES = Object.keys(AGENTS) as AgentName[];

/** The built-in agent called `name`; throws listing the choices if there is none. */
export function getAgent(name: AgentName): Agent;
export function getAgent(name: string): Agent;
export function getAgent(name: string): Agent {
  if (!Object.prototype.hasOwnProperty.call(AGENTS, name)) {
    throw new Error(`unknown agent ${JSON.stringify(name)}; choose one of: ${AGENT_NAMES.join(', ')}`);
  }
  return AGENTS[name as AgentName];
}

export type { Agent, ExperimentSummary, LoadedSummary, Proposal, ProposeInput } from './types.ts';
export { createRng, deriveSeed, type Rng } from './rng.ts';
export { mutate, randomEdit, type Mutation } from './mutate.ts';
export { limitsFor } from './limits.ts';
export { randomAgent } from './random.ts';
export { noopAgent } from './noop.ts';
export { evolutionAgent, agingPopulation, tournament, isBetter } from './evolution.ts';
export { explainEdits } from './explain.ts';
