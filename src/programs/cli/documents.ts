/**
 * Reading and writing multi-document YAML a document at a time, so that what we do not change
 * stays as it was and a stream of any length is read in one pass with one document in memory.
 *
 * Text goes in as it arrives (chunks of any size) and the parser hands out its top-level tokens,
 * which cover the text without gaps. They are grouped into pieces: documents (from their
 * directives or `---` to the next document) and the text between documents (comments and blank
 * lines before a `---`). Only documents are composed, and each piece is handed out as soon as it
 * is complete, with its own text (the tokens' source, exactly as read), and forgotten after that.
 *
 * A document we leave alone, and all text between documents, is written byte for byte. A document
 * we change is edited in place through the `yaml` Document API and re-serialized: its comments,
 * key order, anchors, aliases, quoting, flow collections and block scalars survive; indentation
 * becomes two spaces (sequences indented or not as the document had them) and flow collections
 * gain spaces inside their braces; the blank lines that ended it are kept.
 *
 * Documents are read as YAML 1.1 with merge keys (`<<`), as Kubernetes reads them
 * (sigs.k8s.io/yaml): `0644` is octal and `yes` is true, and both are written back as written.
 */
import { CST, Composer, Document, Parser } from 'yaml';

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
  /** The document's text as read, from its directives or `---` to the next document. */
  readonly text: string;
  /** Where that text starts in the file (the offsets of `doc`'s nodes count from the file's start). */
  readonly start: number;
  /** Line numbers of offsets inside the document. */
  readonly lines: LineIndex;
}

/** A piece of a file, in file order: a document, or the text between documents. */
export type FilePiece =
  | { readonly kind: 'document'; readonly document: SourceDocument }
  | { readonly kind: 'text'; readonly text: string };

/**
 * YAML 1.1 as sigs.k8s.io/yaml reads it. Integers are read as BigInt so that one above 2^53 keeps
 * its value, as kubectl keeps it (an int64), and a document we edit writes it back as it was;
 * `plainValue` turns them into what the core reads.
 */
const PARSE_OPTIONS = { version: '1.1', merge: true, prettyErrors: false, intAsBigInt: true } as const;

/**
 * The plain value of a document, each integer a number when a double holds it exactly and its
 * decimal text otherwise, which the core reads as the same quantity. (Floats are doubles here as
 * they are for kubectl.)
 */
export function plainValue(doc: Document): unknown {
  return doc.toJS({ reviver: exactInteger });
}

function exactInteger(_key: unknown, value: unknown): unknown {
  if (typeof value !== 'bigint') return value;
  return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value.toString();
}

/** A stretch of the file while it is being read; `doc` is set once the composer hands it out. */
interface OpenPiece {
  readonly kind: 'document' | 'text';
  readonly start: number;
  /** The sources of its tokens, joined when it is handed out. */
  readonly texts: string[];
  /** For a document: its `document` token has been seen (directives alone come before it). */
  hasBody: boolean;
  doc?: Document;
  /** Set when the piece is complete: its text and where its lines start. */
  lines?: LineIndex;
}

/**
 * Reads one file as it arrives: `write` each chunk, then `end`; both hand out the pieces that are
 * complete. The parser and the composer hold only the current document (the composer keeps one
 * back, to give it a later `...` or error).
 */
export class DocumentReader {
  private readonly parser = new Parser();
  private readonly composer = new Composer(PARSE_OPTIONS);
  /** Pieces not handed out yet, in file order; the last one may still grow. */
  private readonly waiting: OpenPiece[] = [];
  private current: OpenPiece | undefined;
  /** Where the next piece to be completed starts: offset and 1-based line. */
  private nextStart = { offset: 0, line: 1 };
  /** Text received but not given to the parser yet. */
  private readonly unread = new UnreadText();

  constructor(private readonly name: string) {}

  /**
   * Reads the next chunk of the file.
   * @throws InputError `file:line:col: message` for the first error, with the offending line
   */
  public *write(chunk: string): Generator<FilePiece> {
    const text = this.unread.add(chunk);
    if (text !== '') for (const token of this.parser.parse(text, true)) yield* this.take(token);
  }

  /** Reads the end of the file. @throws InputError as `write` does */
  public *end(): Generator<FilePiece> {
    for (const token of this.parser.parse(this.unread.rest(), false)) yield* this.take(token);
    this.close();
    yield* this.compose(this.composer.end(false, this.nextStart.offset));
    const streamError = this.composer.streamInfo().errors[0];
    if (streamError) throw this.parseError(streamError.pos[0], streamError.message);
    // Directives with no document after them: nothing was composed; they are text.
    for (const piece of this.waiting.splice(0)) yield { kind: 'text', text: piece.lines!.text };
  }

  private *take(token: CST.Token): Generator<FilePiece> {
    const source = CST.stringify(token);
    const current = this.current;
    let composed = true;
    switch (token.type) {
      case 'document':
        if (current?.kind === 'document' && !current.hasBody) current.hasBody = true;
        else this.open('document', token.offset, true);
        break;
      case 'directive':
        if (current?.kind !== 'document' || current.hasBody) this.open('document', token.offset, false);
        break;
      case 'comment':
      case 'newline':
      case 'space':
      case 'byte-order-mark':
        // Between a directive and its `---` the text is the document's; otherwise it is between documents.
        if (!current || (current.kind === 'document' && current.hasBody)) this.open('text', token.offset, false);
        // The composer would make these the next document's comment; they are copied as text instead.
        composed = false;
        break;
      default:
        // `...` and errors stay with the piece before them.
        if (!current) this.open('text', token.offset, false);
    }
    this.current!.texts.push(source);
    if (composed) yield* this.compose(this.composer.next(token));
  }

  private open(kind: OpenPiece['kind'], start: number, hasBody: boolean): void {
    this.close();
    this.current = { kind, start, texts: [], hasBody };
    this.waiting.push(this.current);
  }

  /** The current piece is complete: join its text and count its lines. */
  private close(): void {
    const piece = this.current;
    if (!piece) return;
    const text = piece.texts.join('');
    piece.texts.length = 0;
    piece.lines = new LineIndex(text, this.nextStart.offset, this.nextStart.line);
    this.nextStart = { offset: this.nextStart.offset + text.length, line: piece.lines.endLine() };
    this.current = undefined;
  }

  private *compose(docs: Iterable<Document>): Generator<FilePiece> {
    for (const doc of docs) {
      const error = doc.errors[0];
      if (error) throw this.parseError(error.pos[0], error.message);
      const piece = this.waiting.find(p => p.kind === 'document' && p.doc === undefined);
      if (piece) piece.doc = doc;
    }
    // Hand out, in file order, everything that is complete: text, and documents once composed.
    while (this.waiting.length > 0 && this.waiting[0].lines && (this.waiting[0].kind === 'text' || this.waiting[0].doc)) {
      const piece = this.waiting.shift()!;
      const lines = piece.lines!;
      yield piece.doc
        ? { kind: 'document', document: { doc: piece.doc, text: lines.text, start: piece.start, lines } }
        : { kind: 'text', text: lines.text };
    }
  }

  private parseError(offset: number, message: string): InputError {
    // The offset is in a piece not handed out yet (the composer reports a document's errors with it),
    // or at the end of what was read.
    const piece = this.waiting.find(p => p.lines && offset < p.lines.start + p.lines.text.length) ?? this.waiting.filter(p => p.lines).pop();
    if (!piece) return new InputError(`${this.name}: YAML does not parse: ${firstLine(message)}`);
    const lines = piece.lines!;
    const { line, col } = lines.linePos(offset);
    const caret = `${' '.repeat(Math.max(0, col - 1))}^`;
    return new InputError(`${this.name}:${line}:${col}: YAML does not parse: ${firstLine(message)}\n  ${lines.lineText(offset)}\n  ${caret}`);
  }
}

/** Past this many characters without a document marker, a document is given to the parser by whole lines. */
const MAX_UNREAD = 4 * 2 ** 20;

/** A line that starts a document (`---`) or ends one (`...`), seen complete (`----` is not one). */
const MARKER_LINE = /\n(?:---|\.\.\.)[ \t\r\n]/g;

/**
 * The text received and not yet given to the parser, and how much of it to give: everything
 * before the last line that starts or ends a document (a marker in the first column ends any
 * scalar), so that the parser sees whole documents; in a document larger than MAX_UNREAD,
 * everything up to the last line break. The parser accepts text in any pieces, but yaml 2.9
 * parses some documents differently when a piece ends inside a line (in the spaces that indent
 * it); at the end of a line it parses them as it parses the whole text (the CLI tests feed
 * input in chunks of every size and compare).
 *
 * Chunks are kept apart until a cut and each is searched once (with the few characters before
 * it), so that input arriving a few bytes at a time still costs time in proportion to its length.
 */
class UnreadText {
  private parts: string[] = [];
  private length = 0;
  /** The last characters received, for a marker split between two chunks. */
  private tail = '';
  /** Where the last line break is, or -1. */
  private lastNewline = -1;

  /** Takes a chunk; returns the text to give the parser now (possibly none). */
  public add(chunk: string): string {
    const window = this.tail + chunk;
    const base = this.length - this.tail.length;
    let cut = -1;
    MARKER_LINE.lastIndex = 0;
    for (let match = MARKER_LINE.exec(window); match; match = MARKER_LINE.exec(window)) {
      cut = base + match.index + 1;
      MARKER_LINE.lastIndex = match.index + 1;
    }
    const newline = chunk.lastIndexOf('\n');
    if (newline !== -1) this.lastNewline = this.length + newline;
    this.parts.push(chunk);
    this.length += chunk.length;
    this.tail = window.slice(-4);
    if (cut <= 0 && this.length > MAX_UNREAD && this.lastNewline !== -1) cut = this.lastNewline + 1;
    return cut > 0 ? this.take(cut) : '';
  }

  /** Everything left, at the end of the input. */
  public rest(): string {
    return this.take(this.length);
  }

  private take(length: number): string {
    const all = this.parts.join('');
    const rest = all.slice(length);
    this.parts = rest === '' ? [] : [rest];
    this.length = rest.length;
    this.lastNewline = rest.lastIndexOf('\n');
    return all.slice(0, length);
  }
}

/**
 * Line numbers of offsets in a piece of a file, counted from the last offset asked about: a
 * reader that asks in order counts every newline once, and nothing is stored per line.
 */
export class LineIndex {
  private offset = 0;
  private line: number;

  /**
   * @param text the piece's text
   * @param start where it starts in the file
   * @param startLine the 1-based line it starts on
   */
  constructor(readonly text: string, readonly start: number, private readonly startLine: number) {
    this.line = startLine;
  }

  /** 1-based line and column of an offset in the file (clamped to the piece). */
  public linePos(fileOffset: number): { line: number; col: number } {
    const to = Math.max(0, Math.min(fileOffset - this.start, this.text.length));
    if (to >= this.offset) {
      for (let i = this.text.indexOf('\n', this.offset); i !== -1 && i < to; i = this.text.indexOf('\n', i + 1)) this.line++;
    } else {
      for (let i = this.text.lastIndexOf('\n', this.offset - 1); i !== -1 && i >= to; i = i === 0 ? -1 : this.text.lastIndexOf('\n', i - 1)) this.line--;
    }
    this.offset = to;
    return { line: this.line, col: to - this.lineStart(to) + 1 };
  }

  /** The line an offset of the file is on, without its line break. */
  public lineText(fileOffset: number): string {
    const start = this.lineStart(Math.max(0, Math.min(fileOffset - this.start, this.text.length)));
    const end = this.text.indexOf('\n', start);
    return this.text.slice(start, end === -1 ? this.text.length : end).replace(/\r$/, '');
  }

  /** The line the next piece starts on. */
  public endLine(): number {
    let line = this.startLine;
    for (let i = this.text.indexOf('\n'); i !== -1; i = this.text.indexOf('\n', i + 1)) line++;
    return line;
  }

  private lineStart(offset: number): number {
    return offset === 0 ? 0 : this.text.lastIndexOf('\n', offset - 1) + 1;
  }
}

/**
 * The text of a changed document: its serialization, with the sequence indentation and the
 * trailing blank lines it was written with.
 */
export function stringifyDocument(document: SourceDocument): string {
  const text = document.doc.toString({
    lineWidth: 0,
    flowCollectionPadding: false,
    indentSeq: indentsSequences(document.text),
  });
  return (text.endsWith('\n') ? text : `${text}\n`) + trailingBlankLines(document.text);
}

/** The blank (or whitespace-only) lines at the end of a text, after its last line break of content. */
function trailingBlankLines(text: string): string {
  const match = /\n((?:[ \t]*\r?\n)+)[ \t]*$/.exec(text);
  return match ? match[1] : '';
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
 * Collects the output of a stream until it may be written (all of the input has been read), as
 * UTF-8 bytes outside the JavaScript heap: text is gathered into strings of about 64 KiB and
 * each is encoded once it is full. One growing string would be flattened again and again, and
 * holding the output as strings would keep every chunk of the input alive through them.
 */
export class TextSink {
  private readonly chunks: Buffer[] = [];
  private pending: string[] = [];
  private pendingLength = 0;
  private last = '';

  constructor(private readonly chunkSize = 64 * 1024) {}

  /** Adds text as it is. */
  public add(text: string): void {
    if (text === '') return;
    this.pending.push(text);
    this.pendingLength += text.length;
    this.last = text[text.length - 1];
    if (this.pendingLength >= this.chunkSize) this.flush();
  }

  /** Ends the current line, unless the text is empty or already ends with a line break. */
  public endLine(): void {
    if (this.last !== '' && this.last !== '\n') this.add('\n');
  }

  /** Adds text that must start on a line of its own (a document after one that ended without a newline). */
  public addOnNewLine(text: string): void {
    this.endLine();
    this.add(text);
  }

  /** Moves everything another sink collected to the end of this one. */
  public addSink(other: TextSink): void {
    other.flush();
    this.flush();
    this.chunks.push(...other.chunks.splice(0));
    if (other.last !== '') this.last = other.last;
    other.last = '';
  }

  public get empty(): boolean {
    return this.last === '';
  }

  /**
   * The first line that is neither blank nor a comment, if any, and whether the text is only
   * whitespace. Reads no further than that line.
   */
  public firstContentLine(): { line?: string; blank: boolean } {
    let blank = true;
    let partial = '';
    const isContent = (line: string) => {
      const trimmed = line.trim();
      if (trimmed !== '') blank = false;
      return trimmed !== '' && !trimmed.startsWith('#');
    };
    for (const text of this.texts()) {
      for (let at = 0; ;) {
        const end = text.indexOf('\n', at);
        if (end === -1) {
          partial += text.slice(at);
          break;
        }
        const line = partial + text.slice(at, end);
        partial = '';
        at = end + 1;
        if (isContent(line)) return { line, blank };
      }
    }
    return isContent(partial) ? { line: partial, blank } : { blank };
  }

  public toString(): string {
    this.flush();
    return Buffer.concat(this.chunks).toString('utf8');
  }

  /** Hands the text to `write` a chunk at a time. */
  public writeTo(write: (text: string) => void): void {
    this.flush();
    for (const chunk of this.chunks) write(chunk.toString('utf8'));
  }

  /** The text so far, a chunk at a time (decoded as it is asked for). */
  private *texts(): Generator<string> {
    for (const chunk of this.chunks) yield chunk.toString('utf8');
    yield* this.pending;
  }

  private flush(): void {
    if (this.pendingLength === 0) return;
    this.chunks.push(Buffer.from(this.pending.join(''), 'utf8'));
    this.pending = [];
    this.pendingLength = 0;
  }
}

/**
 * Joins the outputs of several files into one stream: a `---` between them unless the next file
 * starts with one.
 */
export function joinFiles(texts: readonly string[]): string {
  const sink = new TextSink();
  for (const text of texts) {
    const file = new TextSink();
    file.add(text);
    appendFile(sink, file);
  }
  return sink.toString();
}

/** Adds one file's output to a stream of several (see `joinFiles`); a file of whitespace is left out. */
export function appendFile(sink: TextSink, file: TextSink): void {
  const { line, blank } = file.firstContentLine();
  if (blank) return;
  if (!sink.empty) {
    sink.endLine();
    if (line === undefined || !/^---(?:\s|$)/.test(line)) sink.add('---\n');
  }
  sink.addSink(file);
}

function firstLine(message: string): string {
  return message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '');
}
