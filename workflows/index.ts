export { collectionCase } from './case/workflow';
