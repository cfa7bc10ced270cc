/* Durability of a new file name: shared by the result files written
 * atomically (analysis/atomic.c) and the sweep journal (sim/journal.c). */
#ifndef GS_SIM_DURABLE_H
#define GS_SIM_DURABLE_H

/* Sync the directory that holds path, so that a name just created or
 * renamed there survives a power cut. Returns 0, or the errno of the failed
 * sync (ENOMEM when the directory's name cannot be copied). A directory
 * that cannot be opened for reading (EACCES) or a file system that cannot
 * sync a directory (EINVAL, EROFS) only costs durability, never
 * consistency (a crash may bring back the old name, never a partial file),
 * so those return 0. */
int gs_sync_parent_dir(const char *path);

#endif
