/* Closes file descriptors on a background thread. The last close of a deleted segment frees its
 * page cache, which takes about 80 ms per cached GiB here: done on the broker's event loop, a
 * retention pass or a DeleteTopics would stall every client for that long.
 *
 * Threading: ml_file_closer_close and ml_file_closer_drain may be called from any thread; the
 * closer thread starts on first use and lives as long as the process. */
#ifndef ML_STORAGE_FILE_CLOSER_H
#define ML_STORAGE_FILE_CLOSER_H

/* Takes ownership of `fd` and closes it soon (at once, in the caller, if no thread can run). */
void ml_file_closer_close(int fd);
/* Returns once every descriptor handed over so far is closed. */
void ml_file_closer_drain(void);

#endif
