// Everything the worker registers as workflow code.
export { campaignWorkflow } from './campaign.ts';
export { experimentWorkflow } from './experiment.ts';
