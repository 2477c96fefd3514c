/**
 * Container image references, checked at synth time so that a typo in a digest fails here rather
 * than as ErrImagePull on every node. The grammar is the registry's (distribution/reference):
 *
 *   reference := name [ ":" tag ] [ "@" digest ]
 *   name      := [ domain "/" ] component ( "/" component )*
 *   domain    := host [ ":" port ]           host: DNS labels separated by dots, or [IPv6]
 *   component := [a-z0-9]+ ( ( "." | "_" | "__" | "-"+ ) [a-z0-9]+ )*
 *   tag       := [A-Za-z0-9_] [A-Za-z0-9_.-]{0,127}
 *   digest    := "sha256:" 64 hex | "sha384:" 96 hex | "sha512:" 128 hex   (lower case)
 *
 * A digest pins the exact image: `docker.io/library/node:24.19.0-alpine3.24@sha256:<64 hex>`.
 */
import { propLabel } from './language-names';
const COMPONENT = '[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*';
const HOST = '(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*|\\[[0-9a-fA-F:.]+\\])';
const DOMAIN = `${HOST}(?::[0-9]+)?`;
const NAME = `(?:${DOMAIN}/)?${COMPONENT}(?:/${COMPONENT})*`;
const TAG = '[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}';
const DIGEST = 'sha256:[a-f0-9]{64}|sha384:[a-f0-9]{96}|sha512:[a-f0-9]{128}';
/** The whole grammar as one pattern (the chart's values schema checks images with it too). */
export const IMAGE_REFERENCE_PATTERN = `(${NAME})(?::(${TAG}))?(?:@(${DIGEST}))?`;
const REFERENCE = new RegExp(`^${IMAGE_REFERENCE_PATTERN}$`);
/** The registry's own limit on the name part. */
const MAX_NAME_LENGTH = 255;

/**
 * Throws unless `image` is a valid reference, naming the prop and an example.
 * @returns the image, unchanged
 */
export function checkImageReference(image: unknown, prop: string, subject: string): string {
  const match = typeof image === 'string' ? REFERENCE.exec(image) : null;
  if (!match || match[1].length > MAX_NAME_LENGTH) {
    const digestHint = typeof image === 'string' && image.includes('@') ? ': a digest is sha256: and 64 lower-case hex digits' : '';
    throw new Error(`${propLabel(prop)} (${JSON.stringify(image)}) of ${subject} is not an image reference${digestHint}; `
      + 'write registry/name:tag, or pin it as registry/name:tag@sha256:<64 hex digits>');
  }
  return image as string;
}
