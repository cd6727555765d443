/* First on the include path of the pure modules (meson.build: uvcrawl_pure): they run no loop,
 * so libuv's header has no business in them. Move the code that needs it to a non-pure module. */
#error "a pure module includes uv.h (see src/pure-guard)"
