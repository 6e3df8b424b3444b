/*
 * linereader — read a log as lines, from a file (plain or gzip, detected
 * by its magic bytes) or a file descriptor (stdin), with the byte offset
 * of each line, a fingerprint of the file's beginning, and what `tail -F`
 * needs: partial last lines held back until they are finished.
 *
 * Lines are returned without their end of line, pointing into the reader's
 * buffer (valid until the next call).  A line longer than LR_MAX_LINE is
 * returned cut, with *cut set, and the rest of it skipped.  Offsets count
 * bytes of the (decompressed) content.
 */
#ifndef RELEVE_LINEREADER_H
#define RELEVE_LINEREADER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "diag.h"

#define LR_MAX_LINE (1024 * 1024)
#define LR_FP_MAX 1024 /* bytes of the beginning that identify a file */

struct linereader;

/* path "-" reads stdin (no fingerprint, no seek).  NULL with a message. */
struct linereader *lr_open(const char *path, struct diag *d);
void lr_close(struct linereader *lr);

/* The fingerprint: FNV-1a 64 of the first fp_len bytes (fp_len is
 * min(LR_FP_MAX, size)).  For stdin fp_len is 0. */
void lr_fingerprint(struct linereader *lr, uint64_t *fp, size_t *fp_len);
/* Hash of the first n bytes, or -1 when the content is shorter. */
int lr_prefix_hash(struct linereader *lr, size_t n, uint64_t *fp);

/* Continue from byte offset (a line start).  -1 when the content is
 * shorter than offset (the file was truncated) or cannot seek. */
int lr_seek(struct linereader *lr, uint64_t offset, struct diag *d);

enum lr_status { LR_LINE, LR_EOF, LR_ERROR };
/*
 * Next line.  At the end of the data a last line without its newline is
 * returned only when final is set (the file is complete: not the live log);
 * otherwise it stays pending and LR_EOF is returned, to be finished by a
 * later call once more data is there (follow mode).
 */
enum lr_status lr_next(struct linereader *lr, int final, const char **line,
		       size_t *len, int *cut, struct diag *d);
/* Offset just after the last line returned (where to resume). */
uint64_t lr_offset(const struct linereader *lr);
/* Bytes read from the source so far, and its size (0 if unknown). */
uint64_t lr_bytes_read(const struct linereader *lr);
uint64_t lr_size(const struct linereader *lr);
int lr_is_gzip(const struct linereader *lr);
/* Device and inode of the open file (follow mode checks rotation). */
void lr_identity(const struct linereader *lr, dev_t *dev, ino_t *ino);

#endif
