# Ruby's File.read and Dir on the project's folder.
["@PROJECT_FILE@", "@PROJECT_DIR@"].each do |path|
  begin
    File.directory?(path) ? Dir.children(path) : File.read(path)
    puts "ESCAPED: #{path}"
  rescue SystemCallError => e
    puts "CONTAINED #{path} #{e.class}"
  end
end
