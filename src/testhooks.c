/* The test hooks that belong to no one module (testhooks.h). Pure. */
#include "testhooks.h"

uvcrawl__thread_probe_cb uvcrawl__thread_probe;
