/* SPDX-License-Identifier: Apache-2.0 */
#include "CCurl.h"

CURLcode mbcas_curl_setopt_long(CURL *handle, CURLoption option, long value)
{
	return curl_easy_setopt(handle, option, value);
}

CURLcode mbcas_curl_setopt_ptr(CURL *handle, CURLoption option, const void *value)
{
	return curl_easy_setopt(handle, option, value);
}

CURLcode mbcas_curl_setopt_offset(CURL *handle, CURLoption option, curl_off_t value)
{
	return curl_easy_setopt(handle, option, value);
}

CURLcode mbcas_curl_setopt_write(CURL *handle, CURLoption option, mbcas_curl_write_fn value)
{
	return curl_easy_setopt(handle, option, value);
}

CURLcode mbcas_curl_setopt_xferinfo(CURL *handle, mbcas_curl_xferinfo_fn value)
{
	return curl_easy_setopt(handle, CURLOPT_XFERINFOFUNCTION, value);
}

CURLcode mbcas_curl_setopt_blob(CURL *handle, CURLoption option, const void *data, size_t length)
{
	struct curl_blob blob = { .data = (void *)data, .len = length, .flags = CURL_BLOB_COPY };

	return curl_easy_setopt(handle, option, &blob);
}

CURLcode mbcas_curl_getinfo_long(CURL *handle, CURLINFO info, long *value)
{
	return curl_easy_getinfo(handle, info, value);
}
