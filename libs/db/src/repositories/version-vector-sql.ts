/**
 * An item's vector by a collection version, in SQL over `item i`, `collection_version v` and
 * `item_vector iv` (left-joined on the version and the item): its own row's vector where the item
 * was embedded with the version's model, else its vector by that version (a backfill or a
 * dual-write). The one spelling of "the vector by this version", for every reader of one.
 */
export const VECTOR_BY_VERSION_SQL = `CASE WHEN i.model = v.model AND i.status = 'embedded' THEN i.vector ELSE iv.vector END`;

/** Whether the item has a vector by the version (with the joins of {@link VECTOR_BY_VERSION_SQL}). */
export const HAS_VECTOR_BY_VERSION_SQL = `i.status <> 'deleted' AND ((i.model = v.model AND i.status = 'embedded') OR iv.vector IS NOT NULL)`;

/**
 * The same vector, per row: its own row's, else looked up in `item_vector` only for the rows that
 * need it (over `item i` and `collection_version v`). For reads of a few rows each (a group's
 * members), where a join would look up `item_vector` for every row, most of them embedded with
 * the version's own model.
 */
export const VECTOR_BY_VERSION_LOOKUP_SQL = `COALESCE(
  CASE WHEN i.model = v.model AND i.status = 'embedded' THEN i.vector END,
  (SELECT iv.vector FROM item_vector iv WHERE iv.version_id = v.id AND iv.stream_id = i.stream_id AND iv.item_id = i.id))`;

/** Whether the item has a vector by the version, per row (with {@link VECTOR_BY_VERSION_LOOKUP_SQL}). */
export const HAS_VECTOR_BY_VERSION_LOOKUP_SQL = `i.status <> 'deleted' AND ((i.model = v.model AND i.status = 'embedded')
  OR EXISTS (SELECT 1 FROM item_vector iv WHERE iv.version_id = v.id AND iv.stream_id = i.stream_id AND iv.item_id = i.id))`;
