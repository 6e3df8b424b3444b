/*
 * ttfsubset — a smaller TrueType face for embedding: the glyphs of the
 * Latin, Greek and Cyrillic blocks and the usual punctuation (€, œ, ’,
 * «», …) of a font, renumbered, with the tables libharu copies into every
 * PDF (hmtx, loca, cmap, post, name) cut down to them.
 *
 * Made once per process and per font, in an anonymous memory file
 * (memfd) that libharu opens by its /proc/self/fd path; thread-safe.
 */
#ifndef RELEVE_TTFSUBSET_H
#define RELEVE_TTFSUBSET_H

/*
 * The path of the subset of the TrueType font at path, or NULL when it
 * cannot be made (not a TrueType font libharu would read, no memfd):
 * the caller then embeds the whole font.  The string lives as long as
 * the process.
 */
const char *ttfsubset_path(const char *path);

#endif
