import type { Connection } from '@temporalio/client';
import proto from '@temporalio/proto'; // CommonJS: its namespaces are on the default export
import { CASE_SEARCH_ATTRIBUTES } from '../shared/search-attributes';

const GRPC_UNIMPLEMENTED = 12;
const IndexedValueType = proto.temporal.api.enums.v1.IndexedValueType;
const TYPE: Record<string, proto.temporal.api.enums.v1.IndexedValueType> = {
  KEYWORD: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
  INT: IndexedValueType.INDEXED_VALUE_TYPE_INT,
  BOOL: IndexedValueType.INDEXED_VALUE_TYPE_BOOL,
  TEXT: IndexedValueType.INDEXED_VALUE_TYPE_TEXT,
  DOUBLE: IndexedValueType.INDEXED_VALUE_TYPE_DOUBLE,
  DATETIME: IndexedValueType.INDEXED_VALUE_TYPE_DATETIME,
  KEYWORD_LIST: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD_LIST,
};

/**
 * Registers the case search attributes that the namespace lacks. Works on a self-hosted cluster
 * and the dev server; on Temporal Cloud they are added with tcld or the Cloud UI instead, and a
 * permission error here is reported, not fatal.
 */
export async function ensureSearchAttributes(connection: Connection, namespace: string): Promise<string[]> {
  let have = new Set<string>();
  try {
    const existing = await connection.operatorService.listSearchAttributes({ namespace });
    have = new Set(Object.keys(existing.customAttributes ?? {}));
  } catch (e) {
    // The time-skipping test server implements adding search attributes but not listing them.
    if ((e as { code?: number }).code !== GRPC_UNIMPLEMENTED) throw e;
  }
  const missing = CASE_SEARCH_ATTRIBUTES.filter((k) => !have.has(k.name));
  if (missing.length === 0) return [];
  await connection.operatorService.addSearchAttributes({
    namespace,
    searchAttributes: Object.fromEntries(missing.map((k) => [k.name, TYPE[k.type]!])),
  });
  return missing.map((k) => k.name);
}
