/* ApiVersions: what this broker implements, straight from the dispatch table. */
#include "broker/api.h"
#include "broker/handler.h"
#include "proto/api_versions.h"

int ml_handle_api_versions(ml_request *req) {
    ml_api_versions_request in;
    if (ml_api_versions_request_decode(&req->body, req->api_version, &req->arena, &in) != 0) return ML_ECORRUPT;
    ml_api_versions_response out;
    ml_api_versions_response_init(&out);
    size_t count;
    const ml_api *apis = ml_api_all(&count);
    out.api_keys = ml_req_array(req, (int32_t)count, sizeof *out.api_keys);
    if (!out.api_keys) return ML_ENOMEM;
    out.n_api_keys = (int32_t)count;
    for (size_t i = 0; i < count; i++) {
        out.api_keys[i].api_key = apis[i].key;
        out.api_keys[i].min_version = apis[i].min_version;
        out.api_keys[i].max_version = apis[i].max_version;
    }
    ml_writer w;
    ml_writer_init(&w, 512);
    ml_api_versions_response_encode(&w, req->api_version, &out);
    return ml_req_finish(req, &w);
}
