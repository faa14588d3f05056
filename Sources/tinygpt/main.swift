print("tinygpt: under construction")
