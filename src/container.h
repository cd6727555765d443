/* UVCRAWL_CONTAINER_OF: the struct that embeds a member, from the member (as libuv's
 * handles are recovered from their requests). Pure. */
#ifndef UVCRAWL_CONTAINER_H
#define UVCRAWL_CONTAINER_H

#include <stddef.h>

#define UVCRAWL_CONTAINER_OF(ptr, type, field) \
  ((type *)((char *)(ptr) - offsetof(type, field)))

#endif
