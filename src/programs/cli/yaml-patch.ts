/**
 * Applies the core's JSON patch operations to a `yaml` Document in place, so that the comments,
 * anchors and formatting around the edit survive.
 *
 * Two YAML features need care, because an edit must change exactly one place:
 * - an alias on the way to the edit (`- *app`) is replaced by a copy of what it points to before
 *   the edit, and every alias of an anchored node on the way is expanded the same way, so that
 *   the other users of an anchor keep the old value;
 * - a key that a map only has through a merge key (`<<: *defaults`) is copied into the map first.
 *
 * `applyPatchToYaml` then checks the result against the plain-JSON patch; on any difference the
 * caller rewrites the document from JSON instead.
 */
import { Document, Node, isAlias, isCollection, isMap, isScalar, isSeq, visit } from 'yaml';
import { plainValue } from './documents';
import { JsonPatchOperation, applyOperations, pointerTokens } from '../../core';

/**
 * Applies the operations to the document, or returns false when the document did not end up as
 * the same operations make the plain JSON value (the document is then left in an unknown state).
 * @param expected the document's plain value with the operations applied, when the caller has it
 */
export function applyPatchToYaml(
  doc: Document, ops: readonly JsonPatchOperation[], expected: unknown = applyPatchToJson(plainValue(doc), ops),
): boolean {
  try {
    for (const op of ops) applyOne(doc, op);
  } catch {
    return false;
  }
  return canonical(plainValue(doc)) === canonical(expected);
}

/**
 * The same operations on a deep copy of a plain value, with the core's RFC 6902 applier. A JSON
 * round trip, not structuredClone: aliases come out of toJS() as shared objects, and each place
 * must be patched on its own.
 */
export function applyPatchToJson(value: unknown, ops: readonly JsonPatchOperation[]): unknown {
  const copy = (v: unknown) => v === undefined ? undefined : JSON.parse(JSON.stringify(v));
  return applyOperations(copy(value), ops.map(op => ({ ...op, value: copy(op.value) })));
}

function applyOne(doc: Document, op: JsonPatchOperation): void {
  const tokens = pointerTokens(op.path);
  const last = tokens.pop();
  if (last === undefined) throw new Error('cannot replace the whole document');
  let node: unknown = doc.contents;
  expandAliasesOf(doc, node);
  for (const token of tokens) {
    node = child(doc, node, token);
    expandAliasesOf(doc, node);
  }
  if (isSeq(node)) {
    if (op.op === 'add') {
      const index = last === '-' ? node.items.length : Number(last);
      node.items.splice(index, 0, doc.createNode(op.value));
    } else {
      node.items[Number(last)] = doc.createNode(op.value);
    }
  } else if (isMap(node)) {
    const pair = node.items.find(p => keyOf(p.key) === last);
    if (pair && isScalar(pair.value) && isPrimitive(op.value)) {
      pair.value.value = op.value; // keeps the scalar's comments
    } else if (pair) {
      pair.value = doc.createNode(op.value);
    } else {
      node.add(doc.createPair(last, op.value));
    }
  } else {
    throw new Error(`${op.path}: the parent is not a collection`);
  }
}

/** The child of a collection, materialized in place when it is an alias or only merged in. */
function child(doc: Document, node: unknown, token: string): Node {
  if (isSeq(node)) {
    const index = Number(token);
    let item = node.items[index];
    if (isAlias(item)) {
      item = copyOfTarget(doc, item);
      node.items[index] = item;
    }
    if (!isCollection(item) && !isScalar(item)) throw new Error(`no item ${token}`);
    return item as Node;
  }
  if (isMap(node)) {
    let pair = node.items.find(p => keyOf(p.key) === token);
    if (!pair) {
      // Only reachable through `<<`: give the map its own copy, which then takes precedence (its
      // integers as BigInt, so that the copy writes them as they were).
      const merged = (node.toJS(doc) as Record<string, unknown>)[token];
      if (merged === undefined) throw new Error(`no key ${token}`);
      pair = doc.createPair(token, merged);
      node.add(pair);
    }
    if (isAlias(pair.value)) pair.value = copyOfTarget(doc, pair.value);
    return pair.value as Node;
  }
  throw new Error(`cannot descend into a scalar at ${token}`);
}

/** A copy of an alias's target, without anchors of its own (the original keeps them). */
function copyOfTarget(doc: Document, alias: Node): Node {
  const target = isAlias(alias) ? alias.resolve(doc) : undefined;
  if (!target) throw new Error('unresolved alias');
  const copy = target.clone() as Node;
  visit(copy, { Node: (_key, n) => { if (!isAlias(n)) (n as { anchor?: string }).anchor = undefined; } });
  (copy as { anchor?: string }).anchor = undefined;
  return copy;
}

/** Before `node` is edited, every alias that points at it gets a copy of its current value. */
function expandAliasesOf(doc: Document, node: unknown): void {
  if (!node || !(node as { anchor?: string }).anchor) return;
  visit(doc, {
    Alias: (_key, alias) => alias.resolve(doc) === node ? copyOfTarget(doc, alias) : undefined,
  });
}

function keyOf(key: unknown): unknown {
  return isScalar(key) ? key.value : key;
}

function isPrimitive(value: unknown): boolean {
  return value === null || ['string', 'number', 'boolean'].includes(typeof value);
}

/** JSON with sorted keys, so that key order does not count. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v) => (v && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Date))
    ? Object.fromEntries(Object.keys(v).sort().map(k => [k, v[k]]))
    : v);
}
