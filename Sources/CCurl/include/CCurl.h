/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libcurl for Swift. curl_easy_setopt and curl_easy_getinfo are variadic,
 * which Swift cannot call; these typed shims (one per argument type) stand
 * in for them, as swift-corelibs-foundation does for its own libcurl use.
 */
#ifndef CCURL_H
#define CCURL_H

#include <curl/curl.h>

/* Swift's type for curl's write/header callbacks. */
typedef size_t (*mbcas_curl_write_fn)(char *data, size_t size, size_t count, void *context);
/* Swift's type for curl's transfer-progress callback (non-zero aborts the transfer). */
typedef int (*mbcas_curl_xferinfo_fn)(void *context, curl_off_t dltotal, curl_off_t dlnow,
				      curl_off_t ultotal, curl_off_t ulnow);

CURLcode mbcas_curl_setopt_long(CURL *handle, CURLoption option, long value);
CURLcode mbcas_curl_setopt_ptr(CURL *handle, CURLoption option, const void *value);
CURLcode mbcas_curl_setopt_offset(CURL *handle, CURLoption option, curl_off_t value);
CURLcode mbcas_curl_setopt_write(CURL *handle, CURLoption option, mbcas_curl_write_fn value);
CURLcode mbcas_curl_setopt_xferinfo(CURL *handle, mbcas_curl_xferinfo_fn value);
/* In-memory PEM (kubeconfig *-data fields): libcurl copies the bytes. */
CURLcode mbcas_curl_setopt_blob(CURL *handle, CURLoption option, const void *data, size_t length);
CURLcode mbcas_curl_getinfo_long(CURL *handle, CURLINFO info, long *value);

#endif /* CCURL_H */
