import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { CampaignStatus } from './types.ts';

// Every message a campaign understands, in one place.

export const statusQuery = defineQuery<CampaignStatus>('status');
/** Finish the experiments in flight, then start no new ones until `unpause`. */
export const pauseSignal = defineSignal<[reason?: string]>('pause');
export const unpauseSignal = defineSignal('unpause');
/** Finish and record the experiments in flight, then end the campaign cleanly. */
export const stopSignal = defineSignal('stop');
