// libyaml (Debian: libyaml-dev), event API only: the parser builds our positioned tree.
#include <yaml.h>
