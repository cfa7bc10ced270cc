/* The sweep journal: an append-only file of finished work items that lets a
 * sweep killed at any moment (SIGKILL, also in the middle of a write, or a
 * power cut) resume without losing or double-counting an item (SPEC §6,
 * `gatesim sweep --resume`). A record is opaque bytes to the journal; the
 * sweep serialises an item's results into it.
 *
 * On-disk format. Every integer is little-endian, encoded byte by byte, so
 * a journal written on one machine resumes on any other:
 *
 *   header:  "GSJRNL01"            8 bytes of magic
 *            u32 N                 fingerprint length, 1..4096
 *            N bytes               the fingerprint
 *            u64 FNV-1a-64         of the 4 bytes of N and the fingerprint
 *   record:  u32 L                 payload length, 1..GS_JOURNAL_MAX_RECORD
 *            L bytes               the payload
 *            u64 FNV-1a-64         of the 4 bytes of L and the payload
 *   ... records follow one another to the end of the file.
 *
 * The checksum covers the length field too, so a torn or corrupt length is
 * caught like a torn payload. A record is "intact" when all 12 + L of its
 * bytes are present and its checksum matches; resuming keeps the intact
 * records before the first one that is not and cuts the file there. */
#ifndef GS_SIM_JOURNAL_H
#define GS_SIM_JOURNAL_H

#include <stddef.h>
#include "types.h"

typedef struct gs_journal gs_journal;

/* The largest record payload, in bytes. A length field above it marks a
 * torn or corrupt tail, like a bad checksum. */
#define GS_JOURNAL_MAX_RECORD (64u << 20)

/* The longest fingerprint, in bytes. */
#define GS_JOURNAL_MAX_FINGERPRINT 4096u

/* Called for each intact record found when resuming, in file order. data
 * (len bytes, 1..GS_JOURNAL_MAX_RECORD) is valid only during the call.
 * Returns GS_OK to go on, or an error code (which gs_journal_open returns,
 * after closing everything; the file is then left as it was). */
typedef int (*gs_journal_record_fn)(void *arg, const void *data, size_t len);

/* Open the journal at path for a sweep identified by fingerprint (fp, fplen
 * bytes, 1..4096; e.g. a hash of everything that determines the results).
 *
 * resume == 0: create the file (mode 0666 less the umask), or truncate an
 *   existing one; write and fsync the header, and fsync the directory so the
 *   new name survives a power cut.
 * resume != 0: if path does not exist, or holds less than a complete header
 *   (the previous run was killed while creating it: the bytes present are
 *   the beginning of the header this call would write), behave as
 *   resume == 0 and set *resumed = 0. Otherwise check the header: a file
 *   that is not a gatesim journal (or whose header fails its checksum) ->
 *   GS_EINVAL "PATH: not a gatesim sweep journal"; a different fingerprint
 *   (also a short header of another one) -> GS_EINVAL "PATH: this journal was
 *   written by a different sweep (the scenarios, grid, seed or replications
 *   differ); run without --resume to start over, or use another output
 *   directory". Then call on_record (may be NULL) for every intact record in
 *   order, stopping at the first record that is incomplete or fails its
 *   checksum (a run killed mid-append); cut the file right after the last
 *   intact record (ftruncate + fsync) so later appends follow good data; set
 *   *resumed = 1.
 *
 * Reading holds one record in memory at a time, never the whole file.
 * Errors: GS_EIO "PATH: cannot open|read|write|truncate: REASON";
 * GS_ENOMEM; GS_EINVAL as above or for a fingerprint length out of range;
 * whatever on_record returns. resumed may be NULL. On error *out is NULL,
 * *resumed is 0 and nothing is left open. Caller frees with
 * gs_journal_free(). */
int gs_journal_open(gs_journal **out, const char *path, const void *fp, size_t fplen, int resume,
                    gs_journal_record_fn on_record, void *arg, int *resumed, gs_diag *d);

/* Append one record (len 1..GS_JOURNAL_MAX_RECORD bytes) with one write()
 * loop (short writes and EINTR handled) on an O_APPEND descriptor, then
 * fdatasync(). When it returns GS_OK the record survives SIGKILL and a
 * power cut.
 *
 * Errors: GS_EINVAL "PATH: journal record of N bytes (must be 1..MAX)";
 * GS_EIO "PATH: cannot write: REASON" (a full disk shows as "No space left
 * on device"); GS_ENOMEM (the record is framed in one buffer, kept between
 * calls up to 1 MiB). After a failed write the file is cut back to its last
 * record, so the journal stays usable; if even that fails, or fdatasync
 * fails (the kernel may then have dropped the data without saying so later),
 * every further append fails with GS_EIO. A record whose append failed may
 * or may not be found by a later resume, but never in part.
 *
 * Not thread-safe: the caller serialises calls. Only one process may write
 * a journal at a time. */
int gs_journal_append(gs_journal *j, const void *data, size_t len, gs_diag *d);

/* Records recovered by gs_journal_open plus those appended since. */
long gs_journal_records(const gs_journal *j);

/* Close the file and free j (NULL is fine). Every successful append is
 * already durable, so closing loses nothing. */
void gs_journal_free(gs_journal *j);

#endif
