fn main() {
    eprintln!("the list benchmark lands with the HTTP client");
}
