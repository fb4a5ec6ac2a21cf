export { collectionCase } from './case/workflow';
export { weeklyReport } from './report/weekly';
