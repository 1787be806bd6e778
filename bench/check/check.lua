-- check.lua - wrk script of bench/check: GET requests rotating over the
-- paths of a file (one per line), each with "Authorization: Bearer KEY".
-- The requests are formatted once, in init, so that wrk spends the same
-- per request whatever server it drives.
--   wrk ... -s check.lua URL -- PATHS_FILE KEY
local reqs = {}
local i = 0

function init(args)
	wrk.headers["Authorization"] = "Bearer " .. args[2]
	for line in io.lines(args[1]) do
		reqs[#reqs + 1] = wrk.format("GET", line)
	end
end

function request()
	i = i % #reqs + 1
	return reqs[i]
end
