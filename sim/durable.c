#include "durable.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "alloc.h"

int gs_sync_parent_dir(const char *path)
{
    const char *slash = strrchr(path, '/');
    char *dir = !slash ? gs_strdup(".")
                       : gs_strndup(path, slash == path ? 1 : (size_t)(slash - path));
    if (!dir)
        return ENOMEM;
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    gs_free(dir);
    if (fd < 0)
        return 0;
    int err = 0;
    while (fsync(fd) != 0) {
        if (errno != EINTR) {
            err = errno == EINVAL || errno == EROFS ? 0 : errno;
            break;
        }
    }
    close(fd);
    return err;
}
