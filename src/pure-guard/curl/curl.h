/* First on the include path of the pure modules (meson.build: uvcrawl_pure): they do no
 * transfers, so libcurl's header has no business in them. url.c, which uses curl's URL API,
 * is not pure; call it through url.h, which names no curl type. */
#error "a pure module includes curl/curl.h (see src/pure-guard)"
