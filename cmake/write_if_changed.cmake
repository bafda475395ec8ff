# furnace_write_if_changed(PATH TEXT): writes TEXT to PATH only when it differs, so generated
# sources keep their timestamps and do not trigger rebuilds.
function(furnace_write_if_changed path text)
  if(EXISTS "${path}")
    file(READ "${path}" old)
  else()
    set(old "")
  endif()
  if(NOT old STREQUAL text)
    file(WRITE "${path}" "${text}")
  endif()
endfunction()
