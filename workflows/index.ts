export { collectionCase } from './case/workflow';
export { weeklyReport } from './report/weekly';
export { portfolioImport } from './import/import';
export { eventDelivery } from './events/delivery';
export { outboxRelay } from './events/relay';
