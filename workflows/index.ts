export { collectionCase } from './case';
