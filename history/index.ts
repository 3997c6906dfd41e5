// Experiment history in git: one branch per campaign, one commit per experiment.
export type {
  CampaignRecord,
  ExperimentRecord,
  ExperimentStatus,
  ResultLine,
  HistoryRepo,
  HistoryHooks,
  HistoryStep,
  HistoryStepContext,
} from './types.ts';
export { openHistory, maintainHistory, tempRoot, DEFAULT_MAX_ATTEMPTS, type OpenHistoryOptions } from './repo.ts';
export { initCampaign, recordExperiment, tagChampion } from './record.ts';
export {
  readResults,
  readExperiment,
  readCampaign,
  listCampaignBranches,
  listCampaignIds,
  commitsByExperiment,
} from './read.ts';
export {
  branchName,
  campaignIdFromBranch,
  championTagName,
  experimentFolder,
  isValidCampaignId,
  padN,
  slugify,
  validateCampaignId,
  HistoryError,
  type HistoryErrorCode,
} from './slug.ts';
export { experimentMessage, experimentSubject, curveToCsv, parseCurveCsv, TRAILER } from './format.ts';
export { GitCommandError } from './git.ts';
