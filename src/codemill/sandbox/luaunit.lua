-- codemill's stand-in for luaunit, the part MultiPL-E's Lua tests use: lu.assertEquals and
-- os.exit(lu.LuaUnit.run()). Written for codemill (no code taken from luaunit); same contract:
-- deep equality of tables, every global function whose name starts with "test" run in name order,
-- run() returns the number of failed and erroring tests (0 when all pass), a summary on stdout.
local M = { LuaUnit = {} }

local FAILURE = {}  -- the marker of an assertion failure, as opposed to any other error

local function equal(a, b, seen)
  if a == b then
    return true
  end
  if type(a) ~= "table" or type(b) ~= "table" then
    return false
  end
  seen = seen or {}
  if seen[a] == b then
    return true
  end
  seen[a] = b
  for key, value in pairs(a) do
    if not equal(value, b[key], seen) then
      return false
    end
  end
  for key in pairs(b) do
    if a[key] == nil then
      return false
    end
  end
  return true
end

local function show(value, depth)
  depth = depth or 0
  if type(value) == "string" then
    return string.format("%q", value)
  end
  if type(value) ~= "table" or depth > 4 then
    return tostring(value)
  end
  local parts, keys = {}, {}
  for key in pairs(value) do
    keys[#keys + 1] = key
  end
  table.sort(keys, function(x, y)
    return tostring(x) < tostring(y)
  end)
  for _, key in ipairs(keys) do
    parts[#parts + 1] = "[" .. show(key, depth + 1) .. "]=" .. show(value[key], depth + 1)
  end
  return "{" .. table.concat(parts, ", ") .. "}"
end

function M.assertEquals(actual, expected)
  if not equal(actual, expected) then
    error({ [FAILURE] = true, message = "expected: " .. show(expected) .. ", actual: " .. show(actual) }, 2)
  end
end

function M.LuaUnit.run()
  local names = {}
  for name, value in pairs(_G) do
    if type(value) == "function" and name:lower():sub(1, 4) == "test" then
      names[#names + 1] = name
    end
  end
  table.sort(names)
  local failures, errors = {}, {}
  for _, name in ipairs(names) do
    local ok, problem = xpcall(_G[name], function(err)
      if type(err) == "table" and err[FAILURE] then
        return err
      end
      return debug.traceback(tostring(err), 2)
    end)
    if not ok then
      if type(problem) == "table" then
        failures[#failures + 1] = name .. ": " .. problem.message
      else
        errors[#errors + 1] = name .. ": " .. problem
      end
    end
  end
  if #failures > 0 then
    print("Failed tests:")
    for i, line in ipairs(failures) do
      print(i .. ") " .. line)
    end
  end
  if #errors > 0 then
    print("Tests with errors:")
    for i, line in ipairs(errors) do
      print(i .. ") " .. line)
    end
  end
  local passed = #names - #failures - #errors
  print(string.format("Ran %d tests, %d successes, %d failures, %d errors", #names, passed, #failures, #errors))
  if #failures > 0 then
    print("FAILED")
  elseif #errors > 0 then
    print("ERROR")
  else
    print("OK")
  end
  return #failures + #errors
end

return M
