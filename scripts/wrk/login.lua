-- POST /api/auth/login with the credentials in the environment (LOAD_EMAIL, LOAD_PASSWORD).
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = string.format('{"email":"%s","password":"%s"}', os.getenv("LOAD_EMAIL"), os.getenv("LOAD_PASSWORD"))
