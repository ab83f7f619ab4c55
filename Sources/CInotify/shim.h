// libinotifytools (Debian: libinotifytools0-dev); used by the file watcher.
#include <inotifytools/inotifytools.h>
#include <inotifytools/inotify.h>
