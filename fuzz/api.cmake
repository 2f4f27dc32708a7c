# multipart/form-data document uploads (src/api/multipart.cc).
basalt_fuzz(multipart_fuzz basalt_api_multipart)
