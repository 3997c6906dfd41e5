import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { CampaignStatus, SteerAck } from './types.ts';

// Every message a campaign understands, in one place.

export const statusQuery = defineQuery<CampaignStatus>('status');
/** Finish the experiments in flight, then start no new ones until `unpause`. */
export const pauseSignal = defineSignal<[reason?: string]>('pause');
export const unpauseSignal = defineSignal('unpause');
/** Finish and record the experiments in flight, then end the campaign cleanly. */
export const stopSignal = defineSignal('stop');
/**
 * A human's note for the LLM agent: it goes into the next prompt, and the experiment whose proposal
 * first sees it records it. Rejected (validator) when empty, too long, or the agent reads no notes.
 */
export const steerUpdate = defineUpdate<SteerAck, [text: string]>('steer');

/** Longest steering note accepted (characters). */
export const MAX_STEER_CHARS = 2000;
