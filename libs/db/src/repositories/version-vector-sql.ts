/**
 * An item's vector by a collection version, in SQL over `item i`, `collection_version v` and
 * `item_vector iv` (left-joined on the version and the item): its own row's vector where the item
 * was embedded with the version's model, else its vector by that version (a backfill or a
 * dual-write). The one spelling of "the vector by this version", for every reader of one.
 */
export const VECTOR_BY_VERSION_SQL = `CASE WHEN i.model = v.model AND i.status = 'embedded' THEN i.vector ELSE iv.vector END`;

/** Whether the item has a vector by the version (with the joins of {@link VECTOR_BY_VERSION_SQL}). */
export const HAS_VECTOR_BY_VERSION_SQL = `i.status <> 'deleted' AND ((i.model = v.model AND i.status = 'embedded') OR iv.vector IS NOT NULL)`;
