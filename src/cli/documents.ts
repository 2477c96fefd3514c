/**
 * Reading and writing multi-document YAML so that what we do not change stays as it was.
 *
 * A document we leave alone is copied from the input byte for byte. A document we change is
 * edited in place through the `yaml` Document API and re-serialized: its comments, key order,
 * anchors, aliases, quoting, flow collections and block scalars survive; indentation becomes two
 * spaces (sequences indented or not as the document had them) and flow collections gain spaces
 * inside their braces.
 *
 * Documents are read as YAML 1.1 with merge keys (`<<`), as Kubernetes reads them
 * (sigs.k8s.io/yaml): `0644` is octal and `yes` is true, and both are written back as written.
 */
import { Composer, Document, LineCounter, Parser } from 'yaml';

/** A file as read: its name for messages (`-` is shown as `<stdin>`) and its text. */
export interface SourceFile {
  readonly name: string;
  readonly text: string;
}

/** The input cannot be used: exit code 2, nothing on standard output. */
export class InputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InputError';
  }
}

/** One document of a file. */
export interface SourceDocument {
  readonly doc: Document;
  /** Where the document's own text starts and ends in the file (comments before it included). */
  readonly start: number;
  readonly end: number;
}

/** A parsed file. */
export interface ParsedFile {
  readonly source: SourceFile;
  readonly documents: readonly SourceDocument[];
  /** 1-based line and column of an offset. */
  readonly linePos: (offset: number) => { line: number; col: number };
}

const PARSE_OPTIONS = { version: '1.1', merge: true, prettyErrors: false } as const;

/**
 * Parses every document of a file.
 * @throws InputError `file:line:col: message` for the first error, with the offending line
 */
export function parseFile(source: SourceFile): ParsedFile {
  const lineCounter = new LineCounter();
  const tokens = [...new Parser(lineCounter.addNewLine).parse(source.text)];
  const docs = [...new Composer(PARSE_OPTIONS).compose(tokens, true, source.text.length)] as Document[];
  const linePos = (offset: number) => lineCounter.linePos(offset);
  for (const doc of docs) {
    const error = doc.errors[0];
    if (error) {
      const { line, col } = linePos(error.pos[0]);
      const text = source.text.split(/\r?\n/)[line - 1] ?? '';
      const caret = `${' '.repeat(Math.max(0, col - 1))}^`;
      throw new InputError(`${source.name}:${line}:${col}: YAML does not parse: ${firstLine(error.message)}\n  ${text}\n  ${caret}`);
    }
  }
  let previousEnd = 0;
  const documents = docs.map(doc => {
    const start = previousEnd;
    previousEnd = doc.range?.[2] ?? start;
    return { doc, start, end: previousEnd };
  });
  return { source, documents, linePos };
}

/**
 * Writes a file back: documents listed in `replaced` as their new text, all others and anything
 * after the last document exactly as they were read.
 */
export function renderFile(parsed: ParsedFile, replaced: ReadonlyMap<SourceDocument, string>): string {
  let out = '';
  for (const document of parsed.documents) {
    const text = replaced.get(document);
    if (text === undefined) {
      out += parsed.source.text.slice(document.start, document.end);
    } else {
      // `---` right after a document that ended without a newline must start on a line of its own.
      if (out !== '' && !out.endsWith('\n')) out += '\n';
      out += text.endsWith('\n') ? text : `${text}\n`;
    }
  }
  const last = parsed.documents[parsed.documents.length - 1];
  return out + parsed.source.text.slice(last ? last.end : 0);
}

/** Serializes a changed document with the sequence indentation it was written with. */
export function stringifyDocument(document: SourceDocument, sourceText: string): string {
  return document.doc.toString({
    lineWidth: 0,
    flowCollectionPadding: false,
    indentSeq: indentsSequences(sourceText.slice(document.start, document.end)),
  });
}

/**
 * Whether block sequences are indented below their key (`key:\n  - a`) or not (`key:\n- a`, what
 * kubectl and Helm write). The majority of the document's sequences decide; indented on a tie.
 */
export function indentsSequences(text: string): boolean {
  let indented = 0;
  let flush = 0;
  const lines = text.split(/\r?\n/);
  for (let i = 0; i + 1 < lines.length; i++) {
    const key = /^(\s*)(?:- )?[^\s#-][^#]*:\s*(?:#.*)?$/.exec(lines[i]);
    const item = /^(\s*)- /.exec(lines[i + 1]);
    if (!key || !item) continue;
    const keyIndent = key[1].length + (lines[i].trimStart().startsWith('- ') ? 2 : 0);
    if (item[1].length > keyIndent) indented++;
    else if (item[1].length === keyIndent) flush++;
  }
  return indented >= flush;
}

/**
 * Joins the outputs of several files into one stream: a `---` between them unless the next file
 * starts with one.
 */
export function joinFiles(texts: readonly string[]): string {
  let out = '';
  for (const text of texts) {
    if (text.trim() === '') continue;
    if (out !== '') {
      if (!out.endsWith('\n')) out += '\n';
      if (!/^(?:\s*#[^\n]*\n|\s*\n)*---(?:\s|$)/.test(text)) out += '---\n';
    }
    out += text;
  }
  return out;
}

function firstLine(message: string): string {
  return message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '');
}
