/*
 * pdf — a small layer over libharu for releve's documents: an A4 document
 * with the DejaVu Sans faces embedded (regular and bold, UTF-8 text: every
 * accent, the euro sign, œ and the typographic apostrophe render), text
 * helpers (left, right, centred, wrapped to a width, measured) and a few
 * shapes, saved atomically to a file or to a memory buffer.
 *
 * Fonts come from /usr/share/fonts/truetype/dejavu (Debian's
 * fonts-dejavu-core), or from the folder named by RELEVE_FONT_DIR.  Speed
 * (a one-page invoice in about 3.5 ms of CPU, bench/pdfbench.c) comes
 * from three things: the faces are embedded as a Latin/Greek/Cyrillic
 * subset made once per process (reports/ttfsubset.h; libharu would copy
 * most tables of the whole font into every PDF); text that fits
 * Windows-1252 (all of French) uses simple TrueType fonts, the UTF-8 CID
 * fonts being made only for the rare string that needs them (pdf.c,
 * pick()); and finished documents go back to a small pool that keeps the
 * loaded fonts for the next one.  RELEVE_FONT_NOSUBSET=1 embeds the
 * whole faces (for comparison).  Safe to use from several threads (one
 * struct pdf per thread at a time).
 *
 * Coordinates are PDF points, origin at the bottom left of the page.
 * Errors: libharu reports through a callback, which here only records the
 * first error (no longjmp); pdf_save() and pdf_buffer() fail with it.
 *
 * Layout passes: in dry mode (pdf_set_dry) pages are only counted and
 * nothing is drawn, while measuring still works, so a renderer can run
 * its layout once to learn the page count N for "page n/N", then for real.
 */
#ifndef RELEVE_PDF_H
#define RELEVE_PDF_H

#include <stddef.h>

#include "common/diag.h"

#define PDF_A4_W 595.276f
#define PDF_A4_H 841.89f

enum pdf_face {
	PDF_REGULAR,
	PDF_BOLD,
};

struct pdf;

/*
 * A new document.  title goes to the document information; date
 * ("YYYY-MM-DD", may be NULL or "") becomes its creation date, so that the
 * same input gives the same bytes.  NULL with the reason in d when a font
 * cannot be loaded.
 */
struct pdf *pdf_new(const char *title, const char *date, struct diag *d);
/* Accepts NULL. */
void pdf_free(struct pdf *p);

/* Dry mode on (1) or off (0): see above.  Leaving it resets the page
 * count, so the real pass counts again from 0. */
void pdf_set_dry(struct pdf *p, int dry);
/* Pages made so far (in either mode). */
int pdf_pages(const struct pdf *p);
/* Start a new A4 page: later drawing goes there. */
void pdf_page_new(struct pdf *p);

/* The face and size of later text. */
void pdf_font(struct pdf *p, enum pdf_face face, float size);
/* Width in points of UTF-8 text s in the current face and size. */
float pdf_width(struct pdf *p, const char *s);
/* Text with its baseline at y, starting at x / ending at x / centred on x. */
void pdf_text(struct pdf *p, float x, float y, const char *s);
void pdf_text_right(struct pdf *p, float x, float y, const char *s);
void pdf_text_center(struct pdf *p, float x, float y, const char *s);
/*
 * s broken into lines no wider than width (at spaces; a word wider than
 * width is cut; '\n' breaks), the first baseline at y, then every leading
 * points lower.  Returns the number of lines.  pdf_wrap_count() counts
 * them without drawing.
 */
int pdf_wrap(struct pdf *p, float x, float y, float width, float leading,
	     const char *s);
int pdf_wrap_count(struct pdf *p, float width, const char *s);

/* Colour of later text and fills (gray 0 black .. 1 white), and lines. */
void pdf_fill_rgb(struct pdf *p, float r, float g, float b);
void pdf_stroke_rgb(struct pdf *p, float r, float g, float b);
void pdf_line(struct pdf *p, float x1, float y1, float x2, float y2,
	      float width);
/* A filled rectangle, (x, y) its bottom left corner. */
void pdf_rect(struct pdf *p, float x, float y, float w, float h);
/* An open polyline of n points (xs[i], ys[i]). */
void pdf_polyline(struct pdf *p, const float *xs, const float *ys, size_t n,
		  float width);

/*
 * The document in memory: 0 with *buf (caller frees) and *len, or -1 with
 * the reason in d (also when a libharu error was recorded earlier).
 */
int pdf_buffer(struct pdf *p, unsigned char **buf, size_t *len,
	       struct diag *d);
/* The document written to path atomically (mode 0644). 0, or -1. */
int pdf_save(struct pdf *p, const char *path, struct diag *d);

/* French number formats shared by the documents (buffers of 48 bytes):
 * cents as "1 234,56" (space as thousands separator, decimal comma),
 * micro-units with at least min_places decimals ("0,0005", "12"). */
#define PDF_NUM_MAX 48
char *pdf_fr_cents(char *buf, long long cents);
char *pdf_fr_micro(char *buf, long long micro, int min_places);
/* An integer with its thousands grouped: "10 000". */
char *pdf_fr_int(char *buf, long long n);
/* "2026-10-31" -> "31/10/2026" (s copied as is when not a date). */
char *pdf_fr_date(char *buf, const char *iso);

#endif
