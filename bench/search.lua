-- wrk script for P2: stock searches a makerspace would make, varied over places, categories
-- and filters, each a page of 20.
local categories = {"doors", "wood", "windows", "radiators", "bricks-masonry", "metals", "sanitary", "insulation"}
local paths = {}
math.randomseed(42)
for i = 1, 1000 do
  local lat = 52.0705 + (math.random() - 0.5) * 0.16
  local lon = 4.3007 + (math.random() - 0.5) * 0.24
  local category = categories[math.random(#categories)]
  local kind = i % 4
  local path
  if kind == 0 then
    path = string.format("/api/v1/listings?category=%s&near=%.4f,%.4f&radius_km=3&limit=20", category, lat, lon)
  elseif kind == 1 then
    path = string.format("/api/v1/listings?near=%.4f,%.4f&radius_km=2&condition_min=good&limit=20", lat, lon)
  elseif kind == 2 then
    path = string.format("/api/v1/listings?category=%s&status=available&max_price=5000&currency=EUR&limit=20", category)
  else
    path = string.format("/api/v1/listings?category=%s&near=%.4f,%.4f&radius_km=5&min_quantity=10&limit=20", category, lat, lon)
  end
  paths[i] = path
end
local n = 0
request = function()
  n = n % #paths + 1
  return wrk.format("GET", paths[n])
end
