#ifndef KASVU_CCURL_SHIM_H
#define KASVU_CCURL_SHIM_H

// Swift cannot call C variadic functions, so the variadic `curl_easy_setopt`
// and `curl_easy_getinfo` are wrapped here in one typed function per argument
// type. Each wrapper passes exactly the type libcurl documents for the option,
// which is what the variadic ABI requires.

#include <curl/curl.h>

/// Callback types, named so Swift sees one function-pointer type per role.
typedef size_t (*kasvu_curl_data_callback)(char *data, size_t size, size_t count, void *userdata);
typedef int (*kasvu_curl_xferinfo_callback)(void *userdata, curl_off_t dltotal, curl_off_t dlnow,
                                            curl_off_t ultotal, curl_off_t ulnow);

// `CURL_GLOBAL_ALL` is a compound macro; keep it on the C side.
static inline CURLcode kasvu_curl_global_init_all(void) {
    return curl_global_init(CURL_GLOBAL_ALL);
}

// MARK: - curl_easy_setopt

/// Allows only http and https. `CURLOPT_PROTOCOLS_STR` replaced the bitmask
/// option in 7.85 and the old one is deprecated there (a warning), so pick by version.
static inline CURLcode kasvu_curl_setopt_http_protocols_only(CURL *curl) {
#if LIBCURL_VERSION_NUM >= 0x075500
    return curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
#else
    return curl_easy_setopt(curl, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
}

static inline CURLcode kasvu_curl_setopt_long(CURL *curl, CURLoption option, long value) {
    return curl_easy_setopt(curl, option, value);
}

static inline CURLcode kasvu_curl_setopt_off_t(CURL *curl, CURLoption option, curl_off_t value) {
    return curl_easy_setopt(curl, option, value);
}

/// libcurl copies string options, except `CURLOPT_POSTFIELDS` (use `_pointer`).
static inline CURLcode kasvu_curl_setopt_string(CURL *curl, CURLoption option, const char *value) {
    return curl_easy_setopt(curl, option, value);
}

static inline CURLcode kasvu_curl_setopt_pointer(CURL *curl, CURLoption option, const void *value) {
    return curl_easy_setopt(curl, option, value);
}

static inline CURLcode kasvu_curl_setopt_slist(CURL *curl, CURLoption option, struct curl_slist *value) {
    return curl_easy_setopt(curl, option, value);
}

// `CURLOPT_WRITEFUNCTION` and `CURLOPT_HEADERFUNCTION` share one signature.
static inline CURLcode kasvu_curl_setopt_write_callback(CURL *curl, kasvu_curl_data_callback value) {
    return curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, value);
}

static inline CURLcode kasvu_curl_setopt_header_callback(CURL *curl, kasvu_curl_data_callback value) {
    return curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, value);
}

static inline CURLcode kasvu_curl_setopt_xferinfo_callback(CURL *curl, kasvu_curl_xferinfo_callback value) {
    return curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, value);
}

// MARK: - curl_easy_getinfo

static inline CURLcode kasvu_curl_getinfo_long(CURL *curl, CURLINFO info, long *value) {
    return curl_easy_getinfo(curl, info, value);
}

static inline CURLcode kasvu_curl_getinfo_off_t(CURL *curl, CURLINFO info, curl_off_t *value) {
    return curl_easy_getinfo(curl, info, value);
}

/// The returned string is owned by the handle and valid until the next transfer.
static inline CURLcode kasvu_curl_getinfo_string(CURL *curl, CURLINFO info, const char **value) {
    return curl_easy_getinfo(curl, info, value);
}

#endif
